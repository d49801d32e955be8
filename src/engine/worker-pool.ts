import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ChunkIntegrityError, type EncodedChunk } from './chunk-codec.js';

/**
 * CPU-bound chunk work that pipelines hand off the main thread. Buffers passed
 * in are taken over: when one spans its whole ArrayBuffer it is transferred
 * (detached in the caller) instead of copied, so callers must not reuse it.
 */
export interface ChunkPool {
  readonly size: number;
  encode(data: Uint8Array): Promise<EncodedChunk>;
  /** Decodes and verifies a blob; rejects with ChunkIntegrityError on mismatch. */
  decode(blob: Uint8Array, digest: string): Promise<Buffer>;
  hash(data: Uint8Array): Promise<string>;
  close(): Promise<void>;
}

interface Payload {
  buffer: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

export type WorkerRequest =
  | ({ id: number; op: 'encode' } & Payload)
  | ({ id: number; op: 'decode'; digest: string } & Payload)
  | ({ id: number; op: 'hash' } & Payload);

export type WorkerReply =
  | ({ id: number; ok: true; digest: string } & Partial<Payload>)
  | { id: number; ok: false; name: string; message: string; digest?: string };

export class PoolClosedError extends Error {
  constructor() {
    super('chunk worker pool is closed');
    this.name = 'PoolClosedError';
  }
}

interface Task {
  id: number;
  request: WorkerRequest;
  transfer: ArrayBuffer[];
  resolve: (reply: WorkerReply & { ok: true }) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  running: Map<number, Task>;
  answered: boolean;
}

// Two requests per worker keep it busy while the main thread is slow to
// collect a reply; more would only add latency to every queued chunk.
const TASKS_PER_WORKER = 2;
const MAX_FAILURES_IN_A_ROW = 3;

const WORKER_URL = new URL('./chunk-worker.js', import.meta.url);

export interface WorkerPoolOptions {
  /** Number of worker threads; defaults to os.availableParallelism(). */
  size?: number;
}

export class WorkerPool implements ChunkPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private broken: Error | undefined;
  private failuresInARow = 0;

  constructor(options: WorkerPoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`worker pool size must be a positive integer, got ${size}`);
    }
    this.size = size;
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  encode(data: Uint8Array): Promise<EncodedChunk> {
    return this.submit({ op: 'encode' }, data).then((reply) => ({
      digest: reply.digest,
      blob: bufferOf(reply),
    }));
  }

  decode(blob: Uint8Array, digest: string): Promise<Buffer> {
    return this.submit({ op: 'decode', digest }, blob).then(bufferOf);
  }

  hash(data: Uint8Array): Promise<string> {
    return this.submit({ op: 'hash' }, data).then((reply) => reply.digest);
  }

  close(): Promise<void> {
    return this.shutdown(new PoolClosedError());
  }

  private async shutdown(err: Error): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(err);
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      for (const task of slot.running.values()) task.reject(err);
      slot.running.clear();
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private submit(
    op: { op: 'encode' } | { op: 'decode'; digest: string } | { op: 'hash' },
    data: Uint8Array,
  ): Promise<WorkerReply & { ok: true }> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new PoolClosedError());
    const payload = transferable(data);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const request = { id, ...op, ...payload } as WorkerRequest;
      this.queue.push({ id, request, transfer: [payload.buffer], resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (;;) {
      const task = this.queue[0];
      if (!task) return;
      let best: Slot | undefined;
      for (const slot of this.slots) {
        if (slot.running.size < TASKS_PER_WORKER && (!best || slot.running.size < best.running.size)) best = slot;
      }
      if (!best) return;
      this.queue.shift();
      best.running.set(task.id, task);
      // A busy worker must keep the process alive so awaited results arrive; an
      // idle one must not, so forgetting close() never hangs a finished process.
      best.worker.ref();
      try {
        best.worker.postMessage(task.request, task.transfer);
      } catch (err) {
        best.running.delete(task.id);
        this.idleCheck(best);
        task.reject(err as Error);
      }
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, running: new Map(), answered: false };
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      slot.answered = true;
      this.failuresInARow = 0;
      const task = slot.running.get(reply.id);
      if (!task) return;
      slot.running.delete(reply.id);
      this.idleCheck(slot);
      if (reply.ok) task.resolve(reply);
      else task.reject(reviveError(reply));
      this.dispatch();
    });
    const fail = (err: Error): void => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return; // already replaced or pool closed
      for (const task of slot.running.values()) task.reject(err);
      slot.running.clear();
      void worker.terminate();
      // A worker that dies without ever answering (missing or broken script)
      // would die again on respawn; give up instead of looping forever.
      if (!slot.answered && ++this.failuresInARow >= MAX_FAILURES_IN_A_ROW) {
        this.slots.splice(index, 1);
        this.broken = err;
        void this.shutdown(err);
        return;
      }
      this.slots[index] = this.spawn();
      this.dispatch();
    };
    worker.on('error', (err) => fail(new Error(`chunk worker crashed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => fail(new Error(`chunk worker exited unexpectedly with code ${code}`)));
    return slot;
  }

  private idleCheck(slot: Slot): void {
    if (slot.running.size === 0) slot.worker.unref();
  }
}

export function createWorkerPool(options?: WorkerPoolOptions): WorkerPool {
  return new WorkerPool(options);
}

function transferable(data: Uint8Array): Payload {
  const whole =
    data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  if (whole) {
    return { buffer: data.buffer, byteOffset: 0, byteLength: data.byteLength };
  }
  // Slices of Node's shared allocation pool (or of a larger buffer the caller
  // still uses) must not be detached, so those are copied instead.
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return { buffer: copy.buffer, byteOffset: 0, byteLength: copy.byteLength };
}

function bufferOf(reply: Partial<Payload>): Buffer {
  if (!reply.buffer) throw new Error('chunk worker reply carried no data');
  return Buffer.from(reply.buffer, reply.byteOffset ?? 0, reply.byteLength ?? reply.buffer.byteLength);
}

function reviveError(reply: WorkerReply & { ok: false }): Error {
  if (reply.name === 'ChunkIntegrityError' && reply.digest !== undefined) {
    const prefix = `chunk ${reply.digest} failed integrity check: `;
    const reason = reply.message.startsWith(prefix) ? reply.message.slice(prefix.length) : reply.message;
    return new ChunkIntegrityError(reply.digest, reason);
  }
  const err = new Error(reply.message);
  err.name = reply.name;
  return err;
}
