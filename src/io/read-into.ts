import { copyBytes } from './copy-bytes.js';
import { noteBytesRead } from '../runtime/index.js';

/**
 * Reads a byte stream (an HTTP body) into the start of `target` and returns the
 * part filled. A stream longer than `target` asks `tooSmall` for a bigger
 * buffer holding what came so far, or for an error to throw. Both readers
 * here have the stream's own buffers collected as they go (noteBytesRead).
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
  const filler = new PartsFiller(parts);
  for await (const piece of stream) {
    noteBytesRead(piece.length);
    if (filler.take(piece) < piece.length) return false;
  }
  return filler.full;
}

/** Fills `parts` one after another, exactly, from the pieces it is given as they come. */
export class PartsFiller {
  private part = 0;
  private filled = 0;

  constructor(private readonly parts: readonly Buffer[]) {
    this.skipFilled();
  }

  /** Whether every part is filled. */
  get full(): boolean {
    return this.part === this.parts.length;
  }

  /** The unfilled rest of the part being filled, where the next bytes go; null once full. */
  get pending(): Buffer | null {
    return this.full ? null : this.parts[this.part]!.subarray(this.filled);
  }

  /**
   * Copies what fits of `piece` into the parts, and returns how many bytes
   * that was. A piece that was read into `pending` itself is taken as it lies.
   */
  take(piece: Uint8Array): number {
    let used = 0;
    while (used < piece.length && !this.full) {
      const into = this.parts[this.part]!;
      const take = Math.min(piece.length - used, into.length - this.filled);
      const inPlace = used === 0 && piece.buffer === into.buffer && piece.byteOffset === into.byteOffset + this.filled;
      if (!inPlace) copyBytes(into, this.filled, piece.subarray(used, used + take));
      used += take;
      this.filled += take;
      this.skipFilled();
    }
    return used;
  }

  private skipFilled(): void {
    while (this.part < this.parts.length && this.filled === this.parts[this.part]!.length) {
      this.part += 1;
      this.filled = 0;
    }
  }
}
