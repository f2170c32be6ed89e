/** COPY and ADD as build steps: the copy module does the work inside the step's merged rootfs. */
import { ContainerfileError, ErrorCodes, OboxError } from '../errors.js';
import type { AddInstruction, CopyInstruction } from '../instructions/index.js';
import type { SourceInfo } from '../instructions/index.js';
import { copyInto, CopyError, copyRequestFrom, rootfsSource, type SourceTree } from './copy/index.js';

export interface CopyStepContext {
  /** The build context seen through its ignore rules (made once per build). */
  context: SourceTree;
  /** The working dir relative destinations resolve against. */
  workdir: string;
  /** Root filesystem of a stage or image named by --from. */
  rootfsOf: (from: string) => Promise<string>;
  tempDir: string;
  sourceDateEpoch: number | undefined;
  source: SourceInfo;
  signal: AbortSignal | undefined;
}

function located(e: OboxError, ins: CopyInstruction | AddInstruction, ctx: CopyStepContext, word: string | undefined): ContainerfileError {
  const loc = ins.location;
  let line = loc.argsPos.line;
  let column = loc.argsPos.column;
  if (word) {
    for (let l = loc.startLine; l <= loc.endLine; l++) {
      const at = (ctx.source.lines[l - 1] ?? '').indexOf(word);
      if (at !== -1) {
        line = l;
        column = at + 1;
        break;
      }
    }
  }
  const code = e.code === ErrorCodes.notFound || e.code === ErrorCodes.invalidArchive ? e.code : ErrorCodes.semantic;
  return new ContainerfileError(
    code,
    e.message,
    { file: ctx.source.file, line, column, length: word?.length ?? 1, lineText: ctx.source.lines[line - 1] },
    e.hint ? { hint: e.hint, cause: e } : { cause: e },
  );
}

export async function copyStep(ins: CopyInstruction | AddInstruction, rootfs: string, ctx: CopyStepContext): Promise<void> {
  try {
    const tree = ins.kind === 'copy' && ins.from !== undefined ? rootfsSource(await ctx.rootfsOf(ins.from), `--from=${ins.from}`) : ctx.context;
    const request = copyRequestFrom(ins, { tree, workdir: ctx.workdir });
    await copyInto(request, rootfs, {
      tempDir: ctx.tempDir,
      ...(ctx.sourceDateEpoch !== undefined ? { timestamp: ctx.sourceDateEpoch } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  } catch (e) {
    if (e instanceof CopyError) throw located(e, ins, ctx, e.source);
    if (e instanceof OboxError && !(e instanceof ContainerfileError)) throw located(e, ins, ctx, undefined);
    throw e;
  }
}
