/**
 * Parser directives: `# syntax=`, `# escape=`, `# check=` at the very top of the file.
 * The first line that is not a directive (a blank line, another comment, an instruction) ends them.
 * Unknown directive names end them too and are treated as comments, as in BuildKit.
 */
import type { Directive } from './nodes.js';

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN = new Set(['escape', 'syntax', 'check']);

export type DirectiveProblem = { message: string; hint?: string; column: number };

export class DirectiveScanner {
  private done = false;
  private readonly seen = new Set<string>();
  readonly directives: Directive[] = [];
  escape: '\\' | '`' = '\\';

  /**
   * Looks at a line (newline and leading whitespace already trimmed). Returns a problem when the
   * line is a bad directive; undefined otherwise.
   */
  consider(line: string, lineNumber: number): DirectiveProblem | undefined {
    if (this.done) return undefined;
    const match = DIRECTIVE.exec(line);
    if (!match) {
      this.done = true;
      return undefined;
    }
    const name = match[1]!.toLowerCase();
    const value = match[2]!;
    if (!KNOWN.has(name)) {
      this.done = true;
      return undefined;
    }
    if (this.seen.has(name)) {
      return { message: `only one ${name} parser directive can be used`, column: 1, hint: `remove the repeated "# ${name}=" line` };
    }
    this.seen.add(name);
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') {
        return {
          message: `invalid escape token '${value}' does not match \` or \\`,
          column: line.indexOf(value) + 1,
          hint: 'the escape character can only be a backslash or a backtick',
        };
      }
      this.escape = value;
    }
    this.directives.push({ name, value, line: lineNumber });
    return undefined;
  }

  get finished(): boolean {
    return this.done;
  }
}
