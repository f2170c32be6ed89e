/**
 * Image references, parsed and normalised the way docker does (distribution/reference's
 * ParseNormalizedNamed): `busybox` → `docker.io/library/busybox`, `foo/bar` → `docker.io/foo/bar`,
 * `localhost/x` and `registry:5000/x` keep their domain. The grammar is distribution's:
 * lower-case path components, tags `[\w][\w.-]{0,127}`, a path of at most 255 characters.
 */
import { ErrorCodes, OboxError } from '../errors.js';
import { Digest, digestProblem } from './digest.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const PATH_MAX = 255;
/** Guard for the regular expressions below: nothing valid comes close. */
const INPUT_MAX = 4096;

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6address})(?::[0-9]+)?`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

const REFERENCE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const ANCHORED_NAME = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const ANCHORED_TAG = new RegExp(`^${tagPat}$`);
const IDENTIFIER = /^[a-f0-9]{64}$/;

function invalid(input: string, problem: string): never {
  throw new OboxError(ErrorCodes.usage, `invalid reference ${JSON.stringify(input)}: ${problem}`);
}

type Construct = (domain: string, path: string, tag: string | undefined, digest: Digest | undefined) => Reference;
let construct: Construct;

/** A named image reference: domain, path, and optionally a tag and a digest. Immutable; made by `parseReference`. */
export class Reference {
  static {
    construct = (domain, path, tag, digest) => new Reference(domain, path, tag, digest);
  }

  private constructor(
    /** `docker.io`, `localhost`, `registry:5000`. */
    readonly domain: string,
    /** `library/busybox`, `foo/bar`. */
    readonly path: string,
    readonly tag: string | undefined,
    readonly digest: Digest | undefined,
  ) {}

  /** `docker.io/library/busybox`: domain and path, no tag or digest. */
  get name(): string {
    return `${this.domain}/${this.path}`;
  }

  /** The full normalised form: `docker.io/library/busybox:latest[@sha256:…]`. */
  toString(): string {
    return this.name + (this.tag !== undefined ? `:${this.tag}` : '') + (this.digest !== undefined ? `@${this.digest}` : '');
  }

  /** The short name docker shows: `busybox`, `foo/bar`, `localhost/x`. */
  familiarName(): string {
    if (this.domain !== DEFAULT_DOMAIN) return this.name;
    if (this.path.startsWith(OFFICIAL_PREFIX)) {
      const rest = this.path.slice(OFFICIAL_PREFIX.length);
      if (!rest.includes('/')) return rest;
    }
    return this.path;
  }

  /** The short form with tag and digest: `busybox:latest`. */
  familiarString(): string {
    return this.familiarName() + (this.tag !== undefined ? `:${this.tag}` : '') + (this.digest !== undefined ? `@${this.digest}` : '');
  }

  withTag(tag: string): Reference {
    if (!ANCHORED_TAG.test(tag)) invalid(`${this.name}:${tag}`, `tag ${JSON.stringify(tag)} must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    return new Reference(this.domain, this.path, tag, this.digest);
  }

  withDigest(digest: Digest): Reference {
    return new Reference(this.domain, this.path, this.tag, Digest.parse(digest));
  }

  /** Only the repository: tag and digest dropped. */
  repository(): Reference {
    return new Reference(this.domain, this.path, undefined, undefined);
  }

  /** `latest` when there is neither a tag nor a digest (docker's TagNameOnly). */
  withDefaultTag(): Reference {
    return this.tag === undefined && this.digest === undefined ? new Reference(this.domain, this.path, DEFAULT_TAG, undefined) : this;
  }

  equals(other: Reference): boolean {
    return this.toString() === other.toString();
  }
}

export function isValidTag(tag: string): boolean {
  return ANCHORED_TAG.test(tag);
}

/** distribution's splitDockerDomain: which part of a familiar name is a registry. */
function splitDockerDomain(s: string): [domain: string, remainder: string] {
  const slash = s.indexOf('/');
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_PREFIX + s];
  const maybeDomain = s.slice(0, slash);
  const rest = s.slice(slash + 1);
  let domain: string;
  let remainder: string;
  if (maybeDomain === 'localhost') [domain, remainder] = [maybeDomain, rest];
  else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) [domain, remainder] = [DEFAULT_DOMAIN, rest];
  else if (/[.:]/.test(maybeDomain)) [domain, remainder] = [maybeDomain, rest];
  else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remainder] = [maybeDomain, rest];
  else [domain, remainder] = [DEFAULT_DOMAIN, s];
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return [domain, remainder];
}

/** distribution's Parse: the strict grammar, no normalisation. */
function parseStrict(input: string, s: string): Reference {
  const m = REFERENCE.exec(s);
  if (!m) {
    const lower = s.toLowerCase();
    if (lower !== s && REFERENCE.test(lower)) invalid(input, 'repository name must be lowercase');
    invalid(input, 'invalid reference format');
  }
  const nameMatch = ANCHORED_NAME.exec(m[1] as string);
  if (!nameMatch) invalid(input, 'invalid reference format');
  const domain = nameMatch[1] ?? '';
  const path = nameMatch[2] as string;
  if (path.length > PATH_MAX) invalid(input, `repository name must not be longer than ${PATH_MAX} characters`);
  let digest: Digest | undefined;
  if (m[3] !== undefined) {
    const problem = digestProblem(m[3]);
    if (problem !== undefined) invalid(input, `digest: ${problem}`);
    digest = m[3] as Digest;
  }
  return construct(domain, path, m[2], digest);
}

/**
 * Parse a reference as docker does, normalising familiar names to their full form.
 * No tag is added: see `normalizeReference`. Throws OboxError(usage).
 */
export function parseReference(input: string): Reference {
  if (input === '') invalid(input, 'repository name must have at least one component');
  if (input.length > INPUT_MAX) invalid(`${input.slice(0, 40)}…`, 'too long');
  if (IDENTIFIER.test(input)) invalid(input, 'cannot specify 64-byte hexadecimal strings');
  const [domain, remainder] = splitDockerDomain(input);
  const colon = remainder.indexOf(':');
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) invalid(input, `repository name (${remote}) must be lowercase`);
  return parseStrict(input, `${domain}/${remainder}`);
}

/** `parseReference` plus the default tag `latest` when there is neither tag nor digest. */
export function normalizeReference(input: string): Reference {
  return parseReference(input).withDefaultTag();
}

/** True when `input` parses as a reference. */
export function isValidReference(input: string): boolean {
  try {
    parseReference(input);
    return true;
  } catch {
    return false;
  }
}
