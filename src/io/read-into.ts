import { copyBytes } from './copy-bytes.js';
import { noteBytesRead } from './read-buffers.js';

/**
 * Reads a byte stream (an HTTP body) into the start of `target` and returns the
 * part filled. A stream longer than `target` asks `tooSmall` for a bigger
 * buffer holding what came so far, or for an error to throw. Both readers
 * here have the stream's own buffers collected as they go (read-buffers.ts).
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
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  let read = 0;
  let part = 0;
  let partStart = 0;
  for await (let piece of stream) {
    noteBytesRead(piece.length);
    if (read + piece.length > total) return false;
    while (piece.length > 0) {
      const into = parts[part]!;
      const filled = read - partStart;
      if (filled === into.length) {
        partStart += into.length;
        part += 1;
        continue;
      }
      const take = Math.min(piece.length, into.length - filled);
      copyBytes(into, filled, piece.subarray(0, take));
      read += take;
      piece = piece.subarray(take);
    }
  }
  return read === total;
}
