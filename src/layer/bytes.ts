/**
 * File names inside the layer code are "byte strings": JS strings holding one byte per
 * character (latin1). Unlike UTF-8 strings they round-trip every Linux file name exactly, they
 * compare in byte order with plain `<`, and '/' is still '/'. Convert at the edges only.
 */

/** The bytes of a byte string. */
export function toBytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** A byte string from bytes. */
export function fromBytes(b: Buffer): string {
  return b.toString('latin1');
}

/** A byte string from ordinary (UTF-8) text, e.g. a path the caller passed. */
export function fromText(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** A byte string made readable for a message: decoded as UTF-8, then quoted and escaped. */
export function display(s: string): string {
  return JSON.stringify(Buffer.from(s, 'latin1').toString('utf8'));
}

/** Byte order, as Buffer.compare would give: byte strings compare code unit by code unit. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}
