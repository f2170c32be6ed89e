/**
 * Whether expanding a word could change it. A word with no `$`, no quote and no escape character
 * expands to itself with no variables read, so callers can skip the expander (and validate such
 * values as soon as the instruction is read).
 */
export function isLiteralWord(word: string, escape: '\\' | '`' = '\\'): boolean {
  for (const ch of word) {
    if (ch === '$' || ch === '"' || ch === "'" || ch === escape) return false;
  }
  return true;
}
