import { parentPort } from 'node:worker_threads';
import { ChunkIntegrityError, decodeChunk, encodeChunk, sha256Hex } from './chunk-codec.js';
import type { WorkerReply, WorkerRequest } from './worker-pool.js';

if (!parentPort) {
  throw new Error('chunk-worker must be started as a worker thread');
}
const port = parentPort;

function view(msg: { buffer: ArrayBuffer; byteOffset: number; byteLength: number }): Buffer {
  return Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
}

port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    switch (req.op) {
      case 'encode': {
        const { digest, blob } = encodeChunk(view(req));
        reply = { id: req.id, ok: true, digest, buffer: blob.buffer as ArrayBuffer, byteOffset: blob.byteOffset, byteLength: blob.byteLength };
        transfer.push(blob.buffer as ArrayBuffer);
        break;
      }
      case 'decode': {
        const data = decodeChunk(view(req), req.digest);
        reply = { id: req.id, ok: true, digest: req.digest, buffer: data.buffer as ArrayBuffer, byteOffset: data.byteOffset, byteLength: data.byteLength };
        transfer.push(data.buffer as ArrayBuffer);
        break;
      }
      case 'hash': {
        reply = { id: req.id, ok: true, digest: sha256Hex(view(req)) };
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
  }
  port.postMessage(reply, transfer);
});
