import { Worker } from 'node:worker_threads';
import { ChunkIntegrityError } from '../format/chunk-codec.js';
import { poolSize, PoolClosedError, type ChunkPool, type ChunkPoolOptions } from './chunk-pool.js';

export interface Payload {
  buffer: ArrayBuffer | SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

export type WorkerRequest =
  | { id: number; op: 'hash'; data: Payload }
  | { id: number; op: 'compress'; data: Payload; into?: Payload }
  | { id: number; op: 'decode'; digest: string; data: Payload; into?: Payload }
  | { id: number; op: 'verify'; digest: string; data: Payload };

export type WorkerReply =
  | { id: number; ok: true; data: Payload; out?: Payload; digest?: string | null; length?: number }
  | { id: number; ok: false; name: string; message: string; digest?: string };

type Answer = WorkerReply & { ok: true };

interface Task {
  id: number;
  request: WorkerRequest;
  transfer: ArrayBuffer[];
  resolve: (reply: Answer) => void;
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

// Up and back down, so that the path holds from the CLI bundle in dist/src/cli/ too.
const WORKER_URL = new URL('../compute/chunk-worker.js', import.meta.url);

/**
 * The chunk pool in worker threads, for builds without the native chunk jobs
 * (native-pool.ts). Buffers travel to the worker and back without copies: the
 * ArrayBuffer behind a buffer passed in is transferred (detached in the
 * caller), and what the worker gives back is a view of that same memory. Only
 * a view into Node's small shared pool is copied instead. Memory in a
 * SharedArrayBuffer is used in place.
 */
export class WorkerPool implements ChunkPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private broken: Error | undefined;
  private failuresInARow = 0;

  constructor(options: ChunkPoolOptions = {}) {
    this.size = poolSize(options);
    // One worker starts now, so it is ready by the first task; the others when
    // tasks have to wait for it. Starting a worker costs about 75 ms of CPU
    // here, which an incremental backup (a few changed chunks to compress, far
    // apart) spent for nothing on every worker beyond the first.
    this.slots.push(this.spawn());
  }

  /** Worker threads started so far (up to `size`). */
  get threads(): number {
    return this.slots.length;
  }

  async hash(data: Buffer): Promise<{ digest: string | null; data: Buffer }> {
    const reply = await this.submit({ op: 'hash' }, data);
    return { digest: reply.digest ?? null, data: viewOf(reply.data) };
  }

  async compress(data: Buffer, into?: Buffer): Promise<{ blob: Buffer; data: Buffer }> {
    const reply = await this.submit({ op: 'compress' }, data, into);
    return { blob: viewOf(reply.out), data: viewOf(reply.data) };
  }

  async decode(blob: Buffer, digest: string, into?: Buffer): Promise<{ data: Buffer; blob: Buffer }> {
    const reply = await this.submit({ op: 'decode', digest }, blob, into);
    return { data: viewOf(reply.out), blob: viewOf(reply.data) };
  }

  async verify(blob: Buffer, digest: string): Promise<{ length: number; blob: Buffer }> {
    const reply = await this.submit({ op: 'verify', digest }, blob);
    return { length: reply.length ?? 0, blob: viewOf(reply.data) };
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
    op: { op: 'hash' | 'compress' } | { op: 'decode' | 'verify'; digest: string },
    data: Uint8Array,
    into?: Uint8Array,
  ): Promise<Answer> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new PoolClosedError());
    const payload = transferable(data);
    const transfer = movable(payload);
    const request = { id: this.nextId++, ...op, data: payload } as WorkerRequest;
    if (into && (request.op === 'decode' || request.op === 'compress')) {
      request.into = transferable(into);
      if (request.into.buffer !== payload.buffer) transfer.push(...movable(request.into));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: request.id, request, transfer, resolve, reject });
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
      if (!best && this.slots.length < this.size) this.slots.push((best = this.spawn()));
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

/** What a message must transfer for a payload: shared memory is shared, not moved. */
export function movable(payload: Payload): ArrayBuffer[] {
  return payload.buffer instanceof ArrayBuffer ? [payload.buffer] : [];
}

function transferable(data: Uint8Array): Payload {
  if (data.buffer instanceof SharedArrayBuffer || (data.buffer instanceof ArrayBuffer && data.buffer.byteLength > Buffer.poolSize)) {
    return payloadOf(data);
  }
  // Node's shared allocation pool holds other callers' small buffers: never detach it.
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return { buffer: copy.buffer, byteOffset: 0, byteLength: copy.byteLength };
}

/** The Buffer a payload describes (the same memory, no copy). */
export function viewOf(payload: Payload | undefined): Buffer {
  if (!payload) throw new Error('chunk worker message carried no data');
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** The payload describing a Buffer's memory, for a message. */
export function payloadOf(buffer: Uint8Array): Payload {
  return { buffer: buffer.buffer, byteOffset: buffer.byteOffset, byteLength: buffer.byteLength };
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
