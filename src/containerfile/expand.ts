/**
 * Word expansion exactly as BuildKit's shell lexer does it (frontend/dockerfile/shell):
 * variables, the ${...} operators, quotes and escapes. Conformance: ../shared/conformance/buildkit-shell.
 *
 * API contract (implementation in progress).
 */

export type Env = ReadonlyMap<string, string>;

export interface ExpandOptions {
  /** The Containerfile's escape character. Default `\`. */
  escape?: '\\' | '`';
  /** Keep quote characters in the output (used for heredoc detection). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output (used for heredoc detection). */
  rawEscapes?: boolean;
  /** Leave `$VAR` text as written when VAR is unset instead of expanding to empty. */
  skipUnsetEnv?: boolean;
}

export interface ExpandResult {
  value: string;
  /** Variables that were referenced and set. */
  matched: Set<string>;
  /** Variables that were referenced but not set. */
  unmatched: Set<string>;
}

export interface ExpandWordsResult {
  words: string[];
  matched: Set<string>;
  unmatched: Set<string>;
}

export function expandWord(_word: string, _env: Env, _options: ExpandOptions = {}): ExpandResult {
  throw new Error('expandWord: not implemented yet');
}

export function expandWords(_word: string, _env: Env, _options: ExpandOptions = {}): ExpandWordsResult {
  throw new Error('expandWords: not implemented yet');
}
