/**
 * Word expansion for one instruction: calls containerfile/expand, collects the variables read
 * (matched) and missing (unmatched) across all the words, and turns expansion failures into
 * errors located at the word (and the character) that failed. Words that cannot change (no `$`,
 * quotes or escapes) skip the expander.
 */
import { ExpansionError, expandWord, expandWords, type Env, type ExpandOptions } from '../containerfile/expand.js';
import { errorAt, errorAtArgs, findInInstruction, isLiteralWord, type InstructionLocation, type SourceInfo } from '../instructions/index.js';

export class Expander {
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    private readonly source: SourceInfo,
    private readonly location: InstructionLocation,
    private readonly env: Env,
  ) {}

  /** One word, no splitting. */
  word(word: string, options: Pick<ExpandOptions, 'escape'> = {}): string {
    const escape = options.escape ?? this.source.escape;
    if (isLiteralWord(word, escape)) return word;
    const result = this.run(word, () => expandWord(word, this.env, { escape }));
    this.record(result);
    return result.value;
  }

  /**
   * A heredoc body: BuildKit expands it with `\` as the escape and quotes not processed at all
   * (SkipProcessQuotes), so `'$HOME'` expands and the quotes stay.
   */
  raw(text: string): string {
    return this.word(quotesAsLiterals(text), { escape: '\\' });
  }

  /** One word split into shell words after expansion (EXPOSE). */
  words(word: string): string[] {
    if (isLiteralWord(word, this.source.escape)) return word === '' ? [] : [word];
    const result = this.run(word, () => expandWords(word, this.env, { escape: this.source.escape }));
    this.record(result);
    return result.words;
  }

  optional(word: string | undefined): string | undefined {
    return word === undefined ? undefined : this.word(word);
  }

  private record(result: { matched: Set<string>; unmatched: Set<string> }): void {
    for (const name of result.matched) this.matched.add(name);
    for (const name of result.unmatched) this.unmatched.add(name);
  }

  private run<T>(word: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof ExpansionError)) throw e;
      const found = findInInstruction(this.source, this.location, word, { anywhere: true });
      if (found && !word.includes('\n')) throw errorAt(this.source, { line: found.pos.line, column: found.pos.column + e.column }, e.message, { cause: e });
      throw errorAtArgs(this.source, this.location, e.message, { cause: e });
    }
  }
}

/** Escapes every unescaped quote so the expander treats quotes as plain characters. */
function quotesAsLiterals(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      out += ch + text[++i];
    } else {
      out += ch === '"' || ch === "'" ? `\\${ch}` : ch;
    }
  }
  return out;
}
