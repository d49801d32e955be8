import { copyBytes } from './copy-bytes.js';
import { noteBytesRead } from './read-buffers.js';

/**
 * Reads a byte stream (an HTTP body) into the start of `target` and returns the
 * part filled (and has the stream's own buffers collected, see read-buffers.ts). A stream longer than `target` asks `tooSmall` for a bigger
 * buffer holding what came so far, or for an error to throw.
 */
export async function readInto(stream: AsyncIterable<Uint8Array>, target: Buffer, tooSmall: (target: Buffer, filled: number, needed: number) => Buffer): Promise<Buffer> {
  let filled = 0;
  for await (const piece of stream) {
    if (filled + piece.length > target.length) target = tooSmall(target, filled, filled + piece.length);
    copyBytes(target, filled, piece);
    filled += piece.length;
    noteBytesRead(piece.length);
  }
  return target.subarray(0, filled);
}

/**
 * Reads a byte stream into `parts`, one after another, each filled exactly;
 * false when the stream holds more or fewer bytes than they take together.
 */
export async function readIntoParts(stream: AsyncIterable<Uint8Array>, parts: readonly Buffer[]): Promise<boolean> {
  let part = 0;
  let filled = 0;
  for await (let piece of stream) {
    noteBytesRead(piece.length);
    while (piece.length > 0) {
      while (part < parts.length && filled === parts[part]!.length) {
        part += 1;
        filled = 0;
      }
      if (part === parts.length) return false;
      const take = Math.min(piece.length, parts[part]!.length - filled);
      copyBytes(parts[part]!, filled, piece.subarray(0, take));
      filled += take;
      piece = piece.subarray(take);
    }
  }
  while (part < parts.length && filled === parts[part]!.length) {
    part += 1;
    filled = 0;
  }
  return part === parts.length;
}
