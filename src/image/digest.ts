/**
 * Content digests: `algorithm:hex`, validated as the OCI image spec registers them
 * (sha256: 64 lowercase hex digits, sha512: 128). A Digest is a branded string, so it compares
 * with `===`, serialises as itself and works as a Map key; only `Digest.parse` and the hashing
 * helpers make one.
 */
import { createHash, type Hash } from 'node:crypto';
import { ErrorCodes, OboxError } from '../errors.js';

declare const digestBrand: unique symbol;
export type Digest = string & { readonly [digestBrand]: true };

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

/** The grammar of the spec (any algorithm), before the registered-algorithm check. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Why `s` is not a valid digest, or undefined when it is. */
export function digestProblem(s: string): string | undefined {
  if (!DIGEST_GRAMMAR.test(s)) return 'expected algorithm:encoded, e.g. sha256:<64 hex digits>';
  const colon = s.indexOf(':');
  const alg = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  if (alg !== 'sha256' && alg !== 'sha512') return `unsupported digest algorithm "${alg}" (sha256 and sha512 are supported)`;
  const want = HEX_LENGTH[alg];
  if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) return `${alg} digest must be ${want} lowercase hex digits`;
  return undefined;
}

/** A running hash that also counts bytes. */
export interface DigestHasher {
  update(chunk: Uint8Array): void;
  /** Bytes seen so far. */
  readonly size: number;
  /** Finish; call once. */
  digest(): Digest;
}

class NodeHasher implements DigestHasher {
  private readonly hash: Hash;
  private count = 0;
  constructor(readonly algorithm: DigestAlgorithm) {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.count += chunk.byteLength;
  }
  get size(): number {
    return this.count;
  }
  digest(): Digest {
    return `${this.algorithm}:${this.hash.digest('hex')}` as Digest;
  }
}

export const Digest = {
  /** Validate a digest string; throws OboxError(invalidArchive) naming `what` when given. */
  parse(s: string, what = 'digest'): Digest {
    const problem = digestProblem(s);
    if (problem !== undefined) {
      throw new OboxError(ErrorCodes.invalidArchive, `invalid ${what} ${JSON.stringify(s)}: ${problem}`);
    }
    return s as Digest;
  },

  isValid(s: unknown): s is Digest {
    return typeof s === 'string' && digestProblem(s) === undefined;
  },

  fromHex(algorithm: DigestAlgorithm, hex: string): Digest {
    return Digest.parse(`${algorithm}:${hex}`);
  },

  /** The digest of some bytes (a string is hashed as UTF-8). */
  of(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
    return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
  },

  hasher(algorithm: DigestAlgorithm = 'sha256'): DigestHasher {
    return new NodeHasher(algorithm);
  },

  algorithm(d: Digest): DigestAlgorithm {
    return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
  },

  /** The encoded part after the colon. */
  hex(d: Digest): string {
    return d.slice(d.indexOf(':') + 1);
  },

  /** The first 12 hex digits, as docker shows image IDs. */
  short(d: Digest): string {
    return Digest.hex(d).slice(0, 12);
  },
} as const;
