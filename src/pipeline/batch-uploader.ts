import { AskFirst } from './ask-first.js';
import type { BufferRecycler } from '../compute/buffer-recycler.js';
import { BLOB_CAPACITY } from '../format/chunk-codec.js';

/** Where a backup puts its chunks: normally the server's chunk API. */
export interface ChunkSink {
  /** Of `digests`, those the store does not hold yet. */
  missing(digests: string[], signal?: AbortSignal): Promise<Set<string>>;
  /**
   * Stores chunks, as one request where the sink can (a call carries at most
   * MAX_BATCH_BYTES of blob buffers, so four chunks). Chunks that were not
   * asked about (see AskFirst) may be held already: the sink takes them as
   * stored.
   * The blobs' memory is reused once this resolves: a sink that keeps a blob
   * must copy it.
   */
  upload(chunks: UploadChunk[], signal?: AbortSignal): Promise<void>;
}

export interface UploadChunk {
  digest: string;
  blob: Buffer;
}

/**
 * Blob memory a batch may pin, and one upload call may carry: every blob lives
 * in a recycled buffer of BLOB_CAPACITY, so 4 blobs. With the batches in
 * flight, the one filling, the encode window and the read-ahead, a backup
 * holds at most about 4 × 16 MiB of blobs + 4 blob and 8 chunk buffers.
 */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** A chunk of a batch: its blob absent for chunks expected to be stored already (`known`), made only if the store lacks them. */
export interface PendingUpload {
  digest: string;
  index: number;
  blob: Buffer | undefined;
}

export interface BatchUploaderOptions {
  sink: ChunkSink;
  /** Where blobs go back once sent or found unneeded. */
  blobBuffers: BufferRecycler;
  /** Batches talking to the store at once (BATCHES_IN_FLIGHT). */
  inFlight: number;
  signal: AbortSignal;
  /** The blob of a chunk sent without one (ChunkEncoder.encodeAgain). */
  encodeAgain: (index: number, digest: string) => Promise<Buffer>;
  /** Called with the first batch failure, which must abort the backup. */
  onFailure: (err: unknown) => void;
  /** Called after each upload call, once the counts include it. */
  onSent: () => void;
}

/**
 * The upload stage: each batch asks the store which chunks it lacks (or, as
 * AskFirst decides, sends new chunks without asking), gives back the blobs
 * not needed, and uploads the rest in calls of at most MAX_BATCH_BYTES.
 * Up to `inFlight` batches talk to the store while the next one is read and
 * encoded; submit waits for a free place, which keeps memory flat when the
 * store is the bottleneck.
 */
export class BatchUploader {
  private readonly sink: ChunkSink;
  private readonly blobBuffers: BufferRecycler;
  private readonly inFlight: number;
  private readonly signal: AbortSignal;
  private readonly encodeAgain: (index: number, digest: string) => Promise<Buffer>;
  private readonly onFailure: (err: unknown) => void;
  private readonly onSent: () => void;
  private readonly askFirst = new AskFirst();
  private readonly uploading = new Set<Promise<void>>();
  private sentBytes = 0;
  private sentChunks = 0;

  constructor(options: BatchUploaderOptions) {
    ({
      sink: this.sink,
      blobBuffers: this.blobBuffers,
      inFlight: this.inFlight,
      signal: this.signal,
      encodeAgain: this.encodeAgain,
      onFailure: this.onFailure,
      onSent: this.onSent,
    } = options);
  }

  /** Blob bytes (compressed, with headers) sent so far. */
  get bytesUploaded(): number {
    return this.sentBytes;
  }

  get chunksUploaded(): number {
    return this.sentChunks;
  }

  /** Starts uploading a batch once fewer than `inFlight` are; a failure goes to onFailure. */
  async submit(pending: PendingUpload[]): Promise<void> {
    while (this.uploading.size >= this.inFlight) await Promise.race(this.uploading);
    const processing = this.upload(pending).finally(() => this.uploading.delete(processing));
    processing.catch(this.onFailure);
    this.uploading.add(processing);
  }

  /** Settles when every batch submitted has; rejects with the first failure. */
  finish(): Promise<unknown> {
    return Promise.all(this.uploading);
  }

  /** The batches in flight, which must settle before their buffers are released. */
  get running(): ReadonlySet<Promise<void>> {
    return this.uploading;
  }

  private async upload(pending: PendingUpload[]): Promise<void> {
    const { signal, blobBuffers } = this;
    // Chunks with a blob are those the hint does not name (see AskFirst).
    const unhinted = pending.filter((p) => p.blob !== undefined);
    const askAll = unhinted.length === 0 || this.askFirst.next();
    const asked = askAll ? pending : pending.filter((p) => p.blob === undefined);
    const missing = asked.length > 0 ? await this.sink.missing(asked.map((p) => p.digest), signal) : new Set<string>();
    signal.throwIfAborted();
    if (askAll) this.askFirst.learn(unhinted.length, unhinted.filter((p) => missing.has(p.digest)).length);
    const wanted = (p: PendingUpload): boolean => missing.has(p.digest) || (!askAll && p.blob !== undefined);
    const toUpload = pending.filter(wanted);
    for (const p of pending) {
      if (wanted(p)) continue;
      blobBuffers.give(p.blob);
      p.blob = undefined;
    }
    // Blobs of chunks expected in the store (`known`) are made only now, so a
    // batch of those sends them in groups that hold no more memory than a batch.
    let group: UploadChunk[] = [];
    for (const item of toUpload) {
      const blob = item.blob ?? (await this.encodeAgain(item.index, item.digest));
      item.blob = undefined;
      group.push({ digest: item.digest, blob });
      if (group.length * BLOB_CAPACITY >= MAX_BATCH_BYTES) {
        await this.send(group);
        group = [];
      }
    }
    if (group.length > 0) await this.send(group);
  }

  private async send(group: UploadChunk[]): Promise<void> {
    this.signal.throwIfAborted();
    await this.sink.upload(group, this.signal);
    for (const { blob } of group) {
      this.blobBuffers.give(blob);
      this.sentBytes += blob.length;
      this.sentChunks += 1;
    }
    this.onSent();
  }
}
