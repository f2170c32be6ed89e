/**
 * RUN: `--mount` (repeatable), `--network`, `--security`; the command in exec or shell form;
 * heredocs kept for the executor.
 */
import { isLiteralWord } from './literal.js';
import { MountError, MountResolveError, parseMountSpec, resolveMounts, type MountSpec } from './mounts.js';
import type { NodeContext } from './node-context.js';
import type { NetworkMode, RunInstruction, SecurityMode } from './types.js';

const NETWORK_MODES: readonly NetworkMode[] = ['default', 'none', 'host'];
const SECURITY_MODES: readonly SecurityMode[] = ['insecure', 'sandbox'];

export function parseRun(ctx: NodeContext): RunInstruction {
  const flags = ctx.flags({ mount: 'strings', network: 'string', security: 'string' } as const);
  if (ctx.node.args.kind === 'none') ctx.atLeastOne();
  const command = ctx.commandLine();
  if (command.form === 'exec' && command.args.length === 0) ctx.atLeastOne();

  const mounts: MountSpec[] = flags.mount.map((text, occurrence) => {
    try {
      return parseMountSpec(text);
    } catch (e) {
      if (e instanceof MountError) throw ctx.flagError('mount', e.message, { hint: e.hint, occurrence });
      throw e;
    }
  });
  // Values without variables, quotes or escapes cannot change: check them now, not at build time.
  if (mounts.every((m) => m.fields.every((f) => f.value === undefined || isLiteralWord(f.value, ctx.source.escape)))) {
    try {
      resolveMounts(mounts);
    } catch (e) {
      if (e instanceof MountResolveError) throw ctx.flagError('mount', e.message, { hint: e.hint, occurrence: e.index });
      throw e;
    }
  }

  const network = flags.network;
  if (network !== undefined && !(NETWORK_MODES as readonly string[]).includes(network)) {
    throw ctx.flagError('network', `network mode "${network}" not supported`, { hint: `--network is one of ${NETWORK_MODES.join(', ')}` });
  }
  const security = flags.security;
  if (security !== undefined && !(SECURITY_MODES as readonly string[]).includes(security)) {
    throw ctx.flagError('security', `security mode "${security}" not supported`, { hint: `--security is one of ${SECURITY_MODES.join(', ')}` });
  }

  return {
    ...ctx.base('run'),
    command,
    heredocs: ctx.node.heredocs,
    mounts,
    network: network as NetworkMode | undefined,
    security: security as SecurityMode | undefined,
  };
}
