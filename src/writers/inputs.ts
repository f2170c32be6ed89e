/** Writer input: one image or several, each with names checked and normalised once. */
import { ErrorCodes, OboxError } from '../errors.js';
import type { Image } from '../image/image.js';
import { normalizeReference, type Reference } from '../image/reference.js';
import type { ImagesInput, NamedImage } from './types.js';

export interface PreparedInput {
  readonly image: Image;
  /** Normalised, tagged (`latest` by default), never with a digest; no duplicates. */
  readonly names: readonly Reference[];
}

function isImage(x: Image | NamedImage): x is Image {
  return typeof (x as Partial<Image>).manifest === 'function';
}

function toReference(name: string): Reference {
  const ref = normalizeReference(name);
  if (ref.digest !== undefined) {
    throw new OboxError(ErrorCodes.usage, `cannot write an image under a digest reference: ${JSON.stringify(name)}`, {
      hint: 'archives name images by name:tag',
    });
  }
  return ref;
}

/** Normalise the input; a name given to two different entries is a usage error. */
export function prepareInputs(input: ImagesInput): PreparedInput[] {
  const list: readonly NamedImage[] = Array.isArray(input) ? input : isImage(input as Image | NamedImage) ? [{ image: input as Image }] : [input as NamedImage];
  if (list.length === 0) throw new OboxError(ErrorCodes.usage, 'no images to write');
  const owner = new Map<string, number>();
  return list.map((item, i) => {
    const names: Reference[] = [];
    for (const n of item.names ?? []) {
      const ref = toReference(n);
      const key = ref.toString();
      const prev = owner.get(key);
      if (prev === i) continue;
      if (prev !== undefined) {
        throw new OboxError(ErrorCodes.usage, `the name ${ref.familiarString()} is given to two images`);
      }
      owner.set(key, i);
      names.push(ref);
    }
    return { image: item.image, names };
  });
}
