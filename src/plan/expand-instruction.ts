/**
 * Expands the values of an instruction that BuildKit expands (its `Expand` methods), with the
 * environment of the step:
 * - ENV, LABEL: keys and values.  WORKDIR, USER, STOPSIGNAL: the value.  VOLUME: each path.
 * - EXPOSE: each word, split into words after expansion (so `EXPOSE $PORTS` can name several),
 *   then checked and normalized to the image config's `port/proto` keys (a range gives one each).
 * - USER: checked to name a user (`parseUserSpec`).
 * - COPY, ADD: sources, destination, --chown, --chmod, --exclude, ADD --checksum; heredoc bodies
 *   unless the delimiter was quoted (quotes in the body kept). COPY --from is never expanded.
 * - RUN: the --mount values, then the mounts are checked (`resolveMounts` on the result cannot
 *   fail); the command itself is the shell's business.
 * - FROM and ARG are expanded by the plan and the stage scope (different environments);
 *   CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER are not expanded.
 * Returns the same instruction shape with the values replaced, and the variables read.
 */
import type { Env } from '../containerfile/expand.js';
import {
  errorAtFlag,
  errorAtWord,
  MountResolveError,
  parseExposePort,
  parseUserSpec,
  resolveMounts,
  ValueError,
  type Instruction,
  type InstructionLocation,
  type KeyValuePair,
  type SourceInfo,
} from '../instructions/index.js';
import { Expander } from './expander.js';

export interface ExpandedInstruction<T extends Instruction = Instruction> {
  instruction: T;
  /** Variables referenced and set. */
  matched: Set<string>;
  /** Variables referenced but not set. */
  unmatched: Set<string>;
}

export function expandInstruction<T extends Instruction>(instruction: T, env: Env, source: SourceInfo): ExpandedInstruction<T> {
  const x = new Expander(source, instruction.location, env);
  const pairs = (list: KeyValuePair[]) => list.map((p) => ({ ...p, key: x.word(p.key), value: x.word(p.value) }));
  const i: Instruction = instruction;
  let out: Instruction;
  switch (i.kind) {
    case 'env':
      out = { ...i, pairs: pairs(i.pairs) };
      break;
    case 'label':
      out = { ...i, pairs: pairs(i.pairs) };
      break;
    case 'workdir':
      out = { ...i, path: x.word(i.path) };
      break;
    case 'user': {
      const user = x.word(i.user);
      checked(source, i.location, i.user, () => parseUserSpec(user));
      out = { ...i, user };
      break;
    }
    case 'stopsignal':
      out = { ...i, signal: x.word(i.signal) };
      break;
    case 'volume':
      out = { ...i, volumes: i.volumes.map((v) => x.word(v)) };
      break;
    case 'expose':
      out = { ...i, ports: i.ports.flatMap((raw) => x.words(raw).flatMap((port) => checked(source, i.location, raw, () => parseExposePort(port)))) };
      break;
    case 'copy':
    case 'add': {
      const sources = i.sources.map((s) => {
        if (s.kind === 'path') return { ...s, path: x.word(s.path) };
        return s.expand ? { ...s, content: x.raw(s.content) } : s;
      });
      const common = { sources, dest: x.word(i.dest), chown: x.optional(i.chown), chmod: x.optional(i.chmod), excludes: i.excludes.map((e) => x.word(e)) };
      out = i.kind === 'add' ? { ...i, ...common, checksum: x.optional(i.checksum) } : { ...i, ...common };
      break;
    }
    case 'run': {
      const mounts = i.mounts.map((m) => ({ ...m, fields: m.fields.map((f) => ({ ...f, value: x.optional(f.value) })) }));
      try {
        resolveMounts(mounts);
      } catch (e) {
        if (e instanceof MountResolveError) throw errorAtFlag(source, i.location, 'mount', e.message, { hint: e.hint, occurrence: e.index, cause: e });
        throw e;
      }
      out = { ...i, mounts };
      break;
    }
    default:
      out = i;
  }
  return { instruction: out as T, matched: x.matched, unmatched: x.unmatched };
}

/** Runs a value check, locating its failure at the word as written. */
function checked<T>(source: SourceInfo, location: InstructionLocation, written: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ValueError) throw errorAtWord(source, location, written, e.message, { hint: e.hint, cause: e });
    throw e;
  }
}
