/**
 * instructions/: the node tree → typed instructions (a discriminated union on `kind`), stages and
 * meta ARGs. Values are kept as written; plan/ expands them.
 */
export * from './types.js';
export { parseInstruction } from './parse.js';
export { parseInstructions, splitStages, findStage, stageDisplayName, type Stage, type ContainerfileInstructions } from './stages.js';
export { sourceOf, errorAt, errorAtFlag, errorAtKeyword, errorAtArgs, errorAtWord, findInInstruction, flagPosition, type SourceInfo, type ErrorOptions } from './source.js';
export {
  parseMountSpec,
  resolveMounts,
  parseRamSize,
  MountError,
  MountResolveError,
  type MountSpec,
  type MountField,
  type RunMount,
  type BindMount,
  type CacheMount,
  type TmpfsMount,
  type SecretMount,
  type SshMount,
  type MountType,
  type CacheSharing,
} from './mounts.js';
export { parseGoDuration, DurationError } from './duration.js';
export { parseExposePort, parseUserSpec, ValueError, type UserSpec } from './values.js';
export { isLiteralWord } from './literal.js';
export { suggest, didYouMean, editDistance } from './suggest.js';
export { canonicalInstruction } from './canonical.js';
