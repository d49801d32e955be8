import { parentPort } from 'node:worker_threads';
import { ChunkIntegrityError, compressChunk, decodeChunk, isZeroChunk, verifyChunk } from '../format/chunk-codec.js';
import { chunkDigest } from '../format/chunk-hash.js';
import { movable, payloadOf, viewOf, type WorkerReply, type WorkerRequest } from './worker-pool.js';

if (!parentPort) {
  throw new Error('chunk-worker must be started as a worker thread');
}
const port = parentPort;

port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  // Whatever came in goes back, so the caller can reuse its memory.
  const transfer: ArrayBuffer[] = movable(req.data);
  try {
    const data = viewOf(req.data);
    switch (req.op) {
      case 'hash': {
        reply = { id: req.id, ok: true, data: req.data, digest: isZeroChunk(data) ? null : chunkDigest(data) };
        break;
      }
      case 'compress': {
        const blob = compressChunk(data, req.into ? viewOf(req.into) : undefined);
        reply = { id: req.id, ok: true, data: req.data, out: payloadOf(blob) };
        if (blob.buffer !== req.data.buffer) transfer.push(...movable(payloadOf(blob)));
        break;
      }
      case 'decode': {
        const out = decodeChunk(data, req.digest, req.into ? viewOf(req.into) : undefined);
        reply = { id: req.id, ok: true, data: req.data, out: payloadOf(out) };
        if (out.buffer !== req.data.buffer) transfer.push(...movable(payloadOf(out)));
        break;
      }
      case 'verify': {
        reply = { id: req.id, ok: true, data: req.data, length: verifyChunk(data, req.digest) };
        break;
      }
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = {
      id: req.id,
      ok: false,
      name: e.name,
      message: e.message,
      ...(e instanceof ChunkIntegrityError ? { digest: e.digest } : {}),
    };
    // The caller's buffers are not given back on failure; a lost `into` is simply not recycled.
    transfer.length = 0;
  }
  port.postMessage(reply, transfer);
});
