/**
 * Wraps `fn` so it runs at most once, however many times and from wherever it is called (the
 * run's own ending, an abort, and the CLI's `runCleanups` may all call it): every caller gets
 * the same promise.
 */
export function once(fn: () => Promise<void> | void): () => Promise<void> {
  let started: Promise<void> | undefined;
  return () => (started ??= Promise.resolve().then(fn));
}
