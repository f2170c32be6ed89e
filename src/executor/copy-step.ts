/** COPY and ADD as build steps: the copy module does the work inside the step's merged rootfs. */
import type { AddInstruction, CopyInstruction } from '../instructions/index.js';

export interface CopyStepContext {
  contextDir: string;
  /** The working dir relative destinations resolve against. */
  workdir: string;
  /** Root filesystem of a stage or image named by --from. */
  rootfsOf: (from: string) => Promise<string>;
}

export async function copyStep(_ins: CopyInstruction | AddInstruction, _rootfs: string, _ctx: CopyStepContext): Promise<void> {
  throw new Error('COPY/ADD wiring pending');
}
