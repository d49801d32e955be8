import { copyBytes } from './copy-bytes.js';

/**
 * Reads a byte stream (an HTTP body) into the start of `target` and returns the
 * part filled. A stream longer than `target` asks `tooSmall` for a bigger
 * buffer holding what came so far, or for an error to throw.
 */
export async function readInto(stream: AsyncIterable<Uint8Array>, target: Buffer, tooSmall: (target: Buffer, filled: number, needed: number) => Buffer): Promise<Buffer> {
  let filled = 0;
  for await (const piece of stream) {
    if (filled + piece.length > target.length) target = tooSmall(target, filled, filled + piece.length);
    copyBytes(target, filled, piece);
    filled += piece.length;
  }
  return target.subarray(0, filled);
}
