/** What a build reports while it runs; the CLI turns these into progress output. */

export type BuildEvent =
  | { type: 'stage'; stage: string; index: number; total: number; base: string }
  | { type: 'step-start'; id: number; stage: string; step: number; steps: number; text: string; line: number }
  | { type: 'step-output'; id: number; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'step-done'; id: number; durationMs: number; /** Whether the step made a layer. */ layer: boolean; cached: boolean }
  | { type: 'export'; what: string; bytes?: number; total?: number }
  | { type: 'warning'; message: string };

export type BuildEventSink = (event: BuildEvent) => void;
