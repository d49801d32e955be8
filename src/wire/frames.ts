import { PartsFiller } from '../io/read-into.js';
import { ChunkBatchError } from './chunk-batch.js';

/**
 * The Upgrade token of a chunk stream (docs/upload-protocol.md): exchanges one
 * after another over one connection taken over from HTTP, each opened by a
 * frame. An upload's batch is a frame naming its chunks (the `chunks` list of
 * the batch request) followed by its body laid out as above, answered with a
 * frame of JSON; a restore's read is a frame of digests, answered with a frame
 * of blob lengths followed by the blobs.
 */
export const CHUNK_STREAM_PROTOCOL = 'cairn-chunks/1';

/** Bytes of a frame's length prefix (big-endian). */
export const FRAME_PREFIX = 4;

/** Most bytes of a frame's text: a list of MAX_BATCH_CHUNKS chunks, or an answer, fits many times over. */
export const MAX_FRAME_TEXT = 64 * 1024;

/** A frame: the byte length of `text` in FRAME_PREFIX bytes, then `text` in UTF-8. */
export function encodeFrame(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  if (body.length > MAX_FRAME_TEXT) throw new RangeError(`a frame holds at most ${MAX_FRAME_TEXT} bytes of text, not ${body.length}`);
  const frame = Buffer.allocUnsafe(FRAME_PREFIX + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_PREFIX);
  return frame;
}

/** Gathers one frame's text from the pieces a connection delivers, then the next frame's. */
export class FrameTextReader {
  private readonly prefix = Buffer.alloc(FRAME_PREFIX);
  private text: Buffer | null = null;
  private filler = new PartsFiller([this.prefix]);

  /**
   * Takes what it needs of `piece` and returns how many bytes that was, with
   * the frame's text once it is whole (the reader then starts on the next).
   * Throws ChunkBatchError for a length that no frame may have.
   */
  take(piece: Uint8Array): { used: number; text?: string } {
    let used = this.filler.take(piece);
    if (!this.filler.full) return { used };
    if (!this.text) {
      const length = this.prefix.readUInt32BE(0);
      if (length < 1 || length > MAX_FRAME_TEXT) throw new ChunkBatchError(`A frame's text is 1 to ${MAX_FRAME_TEXT} bytes, not ${length}.`);
      this.text = Buffer.allocUnsafe(length);
      this.filler = new PartsFiller([this.text]);
      used += this.filler.take(piece.subarray(used));
      if (!this.filler.full) return { used };
    }
    const text = this.text.toString('utf8');
    this.text = null;
    this.filler = new PartsFiller([this.prefix]);
    return { used, text };
  }
}
