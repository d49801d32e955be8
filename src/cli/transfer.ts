import { randomUUID } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { encodeManifest, decodeManifest, type Manifest } from '../format/manifest.js';
import { backupDisk, type ChunkSink, type UploadChunk } from '../pipeline/backup-pipeline.js';
import {
  BATCH_LENGTHS_HEADER,
  batchBodyParts,
  batchReplyLengths,
  batchSlot,
  ChunkBatchError,
  formatBatchQuery,
  MAX_BATCH_BODY,
  MAX_BATCH_CHUNKS,
  replySlots,
} from '../wire/chunk-batch.js';
import { restoreDisk, type ChunkSource, type RestoreMode, type RestoreResult } from '../pipeline/restore-pipeline.js';
import { openDiskSource } from '../pipeline/disk-source.js';
import { ChunkIntegrityError } from '../format/chunk-codec.js';
import { linkedAbortController } from '../compute/concurrency.js';
import type { ChunkPool } from '../compute/chunk-pool.js';
import { CairnError, badRequest } from '../domain/errors.js';
import { readIntoParts } from '../io/read-into.js';
import { ChunkReadStream, ChunkStream, StreamKeeper } from './chunk-stream.js';
import { retryIdempotent } from './retry.js';
import type { CairnClient, Resource } from './http-client.js';
import type { ChainView, CommittedPointView, DiskView, Page, UploadView } from '../contract/index.js';

/**
 * The client's side of moving disks to and from the server, shared by the CLI
 * commands and the agent. See docs/upload-protocol.md for the requests.
 */

export interface TransferProgress {
  bytesDone: number;
  bytesTotal: number;
  bytesSent: number;
}

const enc = encodeURIComponent;

/**
 * Sends a backup's chunks to the server: each batch over a chunk stream
 * (ChunkStream, one per batch in flight, kept for the next) where the server
 * offers them, else as a batch request.
 */
class UploadSink implements ChunkSink {
  private readonly streams: StreamKeeper<ChunkStream>;

  /** @param uploadId the id of the upload, once the server has opened it */
  constructor(
    private readonly client: CairnClient,
    private readonly uploadId: Promise<string>,
  ) {
    this.streams = new StreamKeeper(async (signal) => ChunkStream.open(client, await uploadId, signal));
  }

  async missing(digests: string[]): Promise<Set<string>> {
    const uploadId = await this.uploadId;
    const out = new Set<string>();
    for (let i = 0; i < digests.length; i += 1024) {
      // A question, not a change: asked again if the server taking it died.
      const body = { digests: digests.slice(i, i + 1024) };
      const r = await retryIdempotent(() => this.client.post<{ missing: string[] }>(`/api/v1/uploads/${uploadId}/missing`, body));
      for (const d of r.missing) out.add(d);
    }
    return out;
  }

  /** One batch per request-sized group (see chunk-batch.ts); the pipeline's batches fit in one. */
  async upload(chunks: UploadChunk[], signal?: AbortSignal): Promise<void> {
    const uploadId = await this.uploadId;
    for (let i = 0; i < chunks.length; ) {
      const batch = [chunks[i++]!];
      let body = batchSlot(batch[0]!.blob.length);
      while (i < chunks.length && batch.length < MAX_BATCH_CHUNKS && body + batchSlot(chunks[i]!.blob.length) <= MAX_BATCH_BODY) {
        body += batchSlot(chunks[i]!.blob.length);
        batch.push(chunks[i++]!);
      }
      // A batch is stored by content address, so one whose server died is sent again, on a new stream (another server behind a balancer).
      await retryIdempotent(() => this.send(uploadId, batch, signal), signal);
    }
  }

  private async send(uploadId: string, batch: UploadChunk[], signal?: AbortSignal): Promise<void> {
    const stream = await this.streams.take(signal);
    if (stream) {
      try {
        await stream.send(batch, signal);
      } finally {
        this.streams.give(stream);
      }
      return;
    }
    const query = { chunks: formatBatchQuery(batch.map(({ digest, blob }) => ({ digest, length: blob.length }))) };
    await this.client.postBinary(`/api/v1/uploads/${uploadId}/chunks`, batchBodyParts(batch.map((c) => c.blob)), { query, signal });
  }

  /** Closes the streams kept for more batches. */
  close(): void {
    this.streams.close();
  }
}

/**
 * Reads chunks of a point (or an image) from the server, over chunk streams
 * (ChunkReadStream, one per fetch in flight, kept for the next) where it
 * offers them, else as batch reads; the restore pipeline verifies each.
 */
export class ServerChunkSource implements ChunkSource {
  private readonly streams: StreamKeeper<ChunkReadStream>;

  constructor(
    private readonly client: CairnClient,
    private readonly base: string,
  ) {
    this.streams = new StreamKeeper((signal) => ChunkReadStream.open(client, base, signal));
  }

  /** One exchange for all of `digests` (see chunk-batch.ts), each blob read into its slot of `into` (replySlots). */
  async fetch(digests: string[], signal: AbortSignal | undefined, into: Buffer): Promise<Buffer[]> {
    // A read from a server that died is read again, into the same slots.
    return retryIdempotent(() => this.fetchOnce(digests, signal, into), signal);
  }

  private async fetchOnce(digests: string[], signal: AbortSignal | undefined, into: Buffer): Promise<Buffer[]> {
    const stream = await this.streams.take(signal);
    if (stream) {
      try {
        return await stream.fetch(digests, signal, into);
      } finally {
        this.streams.give(stream);
      }
    }
    const path = `${this.base}/chunks`;
    const query = { digests: digests.join(',') };
    try {
      const { headers, body } = await this.client.getStream(path, { query, signal });
      try {
        const slots = replySlots(batchReplyLengths(digests, headers.get(BATCH_LENGTHS_HEADER)), into);
        if (!slots) throw new ChunkBatchError(`it lists a blob longer than any chunk's`);
        if (!(await readIntoParts(body, slots))) throw new ChunkBatchError(`its body is not as long as its blobs' lengths add up to`);
        return slots;
      } catch (err) {
        body.destroy();
        throw err;
      }
    } catch (err) {
      if (err instanceof ChunkBatchError) throw new CairnError(502, 'bad_response', `The server's answer to GET ${path} is malformed: ${err.message}.`);
      throw err;
    }
  }

  /** Closes the streams kept for more fetches. */
  close(): void {
    this.streams.close();
  }
}

/**
 * Backs up all disks of a resource as one point: the disks are opened (and so
 * sized) before the upload opens, all share its snapshot time, and the point
 * exists only after the commit. Any failure cancels the upload on the server.
 */
export async function backupResource(
  client: CairnClient,
  opts: {
    resource: Resource;
    paths: Record<string, string>;
    type: 'full' | 'incremental';
    name?: string;
    description?: string;
    jobId?: string;
    pool: ChunkPool;
    onProgress?: (p: TransferProgress) => void;
    signal?: AbortSignal;
  },
): Promise<CommittedPointView> {
  const { resource, paths } = opts;
  const sizes: { name: string; size: number; path: string }[] = [];
  for (const disk of resource.disks) {
    const path = paths[disk.name];
    if (!path) throw badRequest(`No path given for disk "${disk.name}" of ${resource.id}; map it with --disk ${disk.name}=PATH.`, 'disk');
    const src = await openDiskSource(path);
    sizes.push({ name: disk.name, size: src.size, path });
    await src.close();
  }
  const extra = Object.keys(paths).filter((n) => !resource.disks.some((d) => d.name === n));
  if (extra.length) throw badRequest(`${resource.id} has no disk named ${extra.join(', ')}; its disks are ${resource.disks.map((d) => d.name).join(', ')}.`, 'disk');

  // The upload opens, and the previous point's digests (a hint that cannot
  // fail the backup) arrive, while the first disk is already being read and
  // hashed: nothing is asked of the server before a batch of digests is ready.
  // Opening and committing are retried like the idempotent steps: the request key makes a second
  // "open" answer with the first one's upload, and a second commit answers with the point it made.
  const requestKey = randomUUID();
  const uploadId = retryIdempotent(() =>
    client.post<{ upload: UploadView }>('/api/v1/uploads', {
      resource_id: resource.id,
      request_key: requestKey,
      type: opts.type,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.description ? { description: opts.description } : {}),
      ...(opts.jobId ? { job_id: opts.jobId } : {}),
      disks: sizes.map(({ name, size }) => ({ name, size })),
    }),
  ).then((r) => r.upload.id);
  const previous = previousManifests(client, resource);
  const { controller, dispose } = linkedAbortController(opts.signal, 1);
  let openedId: string | undefined;
  // An upload the server refuses stops the reading at once, with the server's reason.
  uploadId.then(
    (id) => (openedId = id),
    (err: unknown) => controller.abort(err),
  );
  const sink = new UploadSink(client, uploadId);
  const total = sizes.reduce((n, d) => n + d.size, 0);
  let before = 0;
  let sent = 0;
  let lastReport = 0;
  try {
    for (const disk of sizes) {
      const result = await backupDisk({
        path: disk.path,
        expectedSize: disk.size,
        pool: opts.pool,
        sink,
        known: previous.then((p) => p.get(disk.name)),
        signal: controller.signal,
        onProgress: (p) => {
          opts.onProgress?.({ bytesDone: before + p.bytesRead, bytesTotal: total, bytesSent: sent + p.bytesUploaded });
          const now = Date.now();
          // The job's progress (seen live in the console) is reported once a second, not per chunk.
          if (openedId && now - lastReport >= 1000) {
            lastReport = now;
            void client.post(`/api/v1/uploads/${openedId}/progress`, { bytes_done: before + p.bytesRead }).catch(() => undefined);
          }
        },
      });
      before += disk.size;
      sent += result.bytesUploaded;
      const manifest = encodeManifest({ size: result.size, chunkSize: result.chunkSize, chunks: result.chunks });
      const manifestPath = `/api/v1/uploads/${await uploadId}/disks/${enc(disk.name)}/manifest`;
      await retryIdempotent(() => client.putBinary(manifestPath, manifest));
    }
    const commitPath = `/api/v1/uploads/${await uploadId}/commit`;
    const { point } = await retryIdempotent(() => client.post<{ point: CommittedPointView }>(commitPath));
    return point;
  } catch (err) {
    const id = await uploadId.catch(() => undefined);
    if (id) await client.delete(`/api/v1/uploads/${id}`).catch(() => undefined);
    throw err;
  } finally {
    sink.close();
    dispose();
  }
}

/**
 * The digests of each disk at the resource's latest point, which the server
 * almost surely still holds: the backup hashes those chunks without compressing
 * them. Only a hint: anything wrong here costs speed, never correctness.
 */
async function previousManifests(client: CairnClient, resource: Resource): Promise<Map<string, Set<string>>> {
  const known = new Map<string, Set<string>>();
  try {
    const { items } = await client.get<Page<ChainView>>('/api/v1/chains', { resource_id: resource.id, status: 'available', limit: 1 });
    const head = items[0]?.head_point_id;
    if (!head) return known;
    for (const disk of resource.disks) {
      const manifest = decodeManifest((await client.getBuffer(`/api/v1/points/${enc(head)}/disks/${enc(disk.name)}/manifest`)).body);
      known.set(disk.name, new Set(manifest.chunks.filter((c): c is string => c !== null)));
    }
  } catch {
    // No hint (an older server, a point deleted meanwhile): every chunk is compressed, as for a first backup.
  }
  return known;
}

/** Restores one disk of a point (or the disk of an image) to a path or device. */
export async function restoreFromServer(
  client: CairnClient,
  opts: {
    /** `/api/v1/points/ss-…` or `/api/v1/images/img-…` */
    base: string;
    manifestPath: string;
    what: string;
    target: string;
    mode: RestoreMode;
    pool: ChunkPool;
    onProgress?: (p: TransferProgress) => void;
    signal?: AbortSignal;
  },
): Promise<RestoreResult & { size: number }> {
  const manifest: Manifest = decodeManifest((await client.getBuffer(opts.manifestPath)).body);
  const source = new ServerChunkSource(client, opts.base);
  try {
    const r = await restoreDisk({
      manifest,
      target: opts.target,
      source,
      pool: opts.pool,
      mode: opts.mode,
      signal: opts.signal,
      onProgress: (p) => opts.onProgress?.({ bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, bytesSent: p.bytesWritten }),
    });
    return { ...r, size: manifest.size };
  } catch (err) {
    // A half-written image file must not be mistaken for the disk: a script that misses the exit code would use it.
    if (opts.mode === 'file') await unlink(opts.target).catch(() => undefined);
    if (err instanceof ChunkIntegrityError)
      throw new CairnError(502, 'chunk_damaged', `${opts.what}: chunk ${err.digest} is damaged (${err.message}); nothing after it was trusted. Run \`cairn verify\` and restore from another point.`);
    throw err;
  } finally {
    source.close();
  }
}

/** Where restoreFromServer finds disk `disk` of point `pointId`, and how its errors name it. */
export function pointDiskSource(pointId: string, disk: string): { base: string; manifestPath: string; what: string } {
  return {
    base: `/api/v1/points/${pointId}`,
    manifestPath: `/api/v1/points/${pointId}/disks/${encodeURIComponent(disk)}/manifest`,
    what: `point ${pointId} disk ${disk}`,
  };
}

export function pointDiskPaths(point: { id: string; disks: DiskView[] }, disk?: string): DiskView {
  const d = disk ? point.disks.find((x) => x.name === disk) : point.disks[0];
  if (!d) throw badRequest(`Point ${point.id} has no disk "${disk}"; it has ${point.disks.map((x) => x.name).join(', ')}.`, 'disk');
  return d;
}
