/**
 * Containerfile text → node tree. Follows BuildKit's parser: directives at the top, the escape
 * character, continuation lines (comment and blank lines inside a continuation are skipped),
 * comments, BOM, CRLF, case-insensitive keywords, `--flags`, per-keyword argument shapes,
 * heredocs (also inside ONBUILD). Every node knows where it came from.
 */
import { ContainerfileError, ErrorCodes } from '../errors.js';
import { DirectiveScanner } from './directives.js';
import { heredocMarkersInLine } from './heredoc.js';
import { ArgsError, shapeArgs } from './line-parsers.js';
import { LogicalLine, splitPhysicalLines, trimLeadingSpace, type PhysicalLine } from './lines.js';
import type { Heredoc, InstructionNode, ParsedContainerfile, ParseWarning, Position } from './nodes.js';
import { splitCommand } from './split-command.js';

const HEREDOC_KEYWORDS = new Set(['run', 'copy', 'add']);

function isCommentLine(text: string): boolean {
  return trimLeadingSpace(text).startsWith('#');
}

function stripComment(text: string): string {
  return text.startsWith('#') ? '' : text;
}

/** Removes a trailing escape character (and spaces/tabs after it) unless the escape is itself escaped. */
function trimContinuation(line: string, escape: string): { text: string; continues: boolean } {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end === 0 || line[end - 1] !== escape) return { text: line, continues: false };
  if (end >= 2 && line[end - 2] === escape) return { text: line, continues: false };
  return { text: line.slice(0, end - 1), continues: true };
}

class Parser {
  private readonly lines: PhysicalLine[];
  private index = 0;
  private readonly directives = new DirectiveScanner();
  private readonly warnings: ParseWarning[] = [];
  private readonly nodes: InstructionNode[] = [];
  private comments: string[] = [];

  constructor(
    source: string,
    private readonly file: string,
  ) {
    this.lines = splitPhysicalLines(source);
  }

  private error(message: string, at: Position, options: { hint?: string; length?: number } = {}): ContainerfileError {
    return new ContainerfileError(
      ErrorCodes.syntax,
      message,
      { file: this.file, line: at.line, column: at.column, length: options.length, lineText: this.lines[at.line - 1]?.text ?? '' },
      { hint: options.hint },
    );
  }

  private checkDirective(text: string, lineNumber: number): void {
    const problem = this.directives.consider(text, lineNumber);
    if (problem) throw this.error(problem.message, { line: lineNumber, column: problem.column }, { hint: problem.hint });
  }

  parse(): ParsedContainerfile {
    while (this.index < this.lines.length) {
      const physical = this.lines[this.index++]!;
      const trimmed = trimLeadingSpace(physical.text);
      const indent = physical.text.length - trimmed.length;
      if (trimmed.startsWith('#')) {
        const comment = trimmed.slice(1).trim();
        this.checkDirective(trimmed, physical.number);
        if (!this.directives.finished) continue; // it was a directive, not a comment
        this.comments.push(comment);
        continue;
      }
      this.checkDirective(trimmed, physical.number);
      const first = trimContinuation(stripComment(trimmed), this.directives.escape);
      if (!first.continues && first.text === '') continue;

      const logical = new LogicalLine();
      logical.append(first.text, physical.number, indent + 1);
      const startLine = physical.number;
      let continues = first.continues;
      let sawEmptyContinuation = false;
      while (continues && this.index < this.lines.length) {
        const next = this.lines[this.index++]!;
        if (isCommentLine(next.text)) continue;
        if (trimLeadingSpace(next.text) === '') {
          sawEmptyContinuation = true;
          continue;
        }
        const part = trimContinuation(stripComment(next.text), this.directives.escape);
        continues = part.continues;
        logical.append(part.text, next.number, 1);
      }
      if (sawEmptyContinuation) {
        this.warnings.push({ message: `empty continuation line found in: ${logical.text.trim()}`, line: startLine });
      }

      const node = this.nodeFromLine(logical, 0, startLine);
      this.readHeredocs(node, logical);
      node.endLine = this.index > 0 ? this.lines[this.index - 1]!.number : startLine;
      if (node.args.kind === 'onbuild') node.args.trigger.endLine = node.endLine;
      node.comments = this.comments;
      this.comments = [];
      this.nodes.push(node);
    }

    if (this.nodes.length === 0) {
      const last = this.lines.length === 0 ? 1 : this.lines.length;
      throw this.error('file with no instructions', { line: last, column: 1 }, { hint: 'a Containerfile needs at least a FROM instruction' });
    }

    return {
      file: this.file,
      directives: this.directives.directives,
      escape: this.directives.escape,
      nodes: this.nodes,
      warnings: this.warnings,
      lines: this.lines.map((l) => l.text),
    };
  }

  private nodeFromLine(logical: LogicalLine, offset: number, startLine: number): InstructionNode {
    const text = logical.text.slice(offset);
    const split = splitCommand(text);
    const keyword = split.keywordText.toLowerCase();
    const keywordPos = logical.positionAt(offset + split.keywordOffset);
    const argsPos = split.rest === '' ? keywordPos : logical.positionAt(offset + split.restOffset);
    const node: InstructionNode = {
      keyword,
      keywordText: split.keywordText,
      flags: split.flags,
      args: { kind: 'none' },
      heredocs: [],
      original: text,
      startLine,
      endLine: startLine,
      keywordPos,
      argsPos,
      comments: [],
    };
    if (keyword === 'onbuild') {
      if (split.rest !== '') {
        node.args = { kind: 'onbuild', trigger: this.nodeFromLine(logical, offset + split.restOffset, startLine) };
      }
      return node;
    }
    try {
      node.args = shapeArgs(keyword, split.rest, this.directives.escape);
    } catch (e) {
      if (e instanceof ArgsError) {
        throw this.error(e.message, logical.positionAt(offset + split.restOffset + e.offset), { hint: e.hint });
      }
      throw e;
    }
    return node;
  }

  private readHeredocs(node: InstructionNode, logical: LogicalLine): void {
    const target = node.args.kind === 'onbuild' ? node.args.trigger : node;
    if (!HEREDOC_KEYWORDS.has(target.keyword) || target.args.kind === 'json') return;
    const markers = heredocMarkersInLine(logical.text);
    const heredocs: Heredoc[] = [];
    for (const marker of markers) {
      const bodyStart = this.index < this.lines.length ? this.lines[this.index]!.number : this.lines.length + 1;
      let content = '';
      let terminated = false;
      while (this.index < this.lines.length) {
        const line = this.lines[this.index++]!;
        const candidate = marker.chomp ? line.text.replace(/^\t+/, '') : line.text;
        if (candidate === marker.name) {
          terminated = true;
          break;
        }
        content += line.raw;
      }
      if (!terminated) {
        throw this.error(`unterminated heredoc ${marker.name}`, node.keywordPos, {
          hint: `end the heredoc with a line that is exactly "${marker.name}"`,
          length: node.keywordText.length,
        });
      }
      const endLine = this.lines[this.index - 1]!.number;
      heredocs.push({ ...marker, content, startLine: bodyStart, endLine });
    }
    target.heredocs = heredocs;
  }
}

/** Parses Containerfile text. `file` is the name used in messages. Throws ContainerfileError. */
export function parseContainerfile(source: string, file: string): ParsedContainerfile {
  return new Parser(source, file).parse();
}
