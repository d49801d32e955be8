import { blockSpan, DIRECT_IO_ALIGNMENT } from '../io/disk-io.js';
import { BLOB_HEADER_SIZE, isDigest, MAX_BLOB_SIZE } from '../format/chunk-codec.js';

/**
 * Several chunks in one upload request (docs/upload-protocol.md): their
 * digests and blob lengths in the query, as `chunks=<digest>:<length>,…`, and
 * the blobs in the body in that order, each padded with zeros to a whole
 * number of BATCH_ALIGNMENT bytes. Batches, since a request per chunk cost the
 * server 2–3 ms of CPU, as much as verifying a 4 MiB chunk; padded, so that
 * each blob lands aligned in its slot and the store writes it around the page
 * cache straight from there.
 */
export const BATCH_ALIGNMENT = DIRECT_IO_ALIGNMENT;

/** Most chunks named in one request: the query stays under 1.2 KiB. */
export const MAX_BATCH_CHUNKS = 16;

/** A blob's slot in a request-sized buffer: the largest blob, in whole blocks. */
export const BLOB_SLOT = blockSpan(MAX_BLOB_SIZE, BATCH_ALIGNMENT);

/** Most chunks read in one request: their slots fill one request-sized buffer. */
export const MAX_READ_CHUNKS = 4;

/** Most body bytes in one request: as many chunks as a read takes, none of them compressed. */
export const MAX_BATCH_BODY = MAX_READ_CHUNKS * BLOB_SLOT;

/** What the `chunks` query parameter must look like; lengths are checked once parsed. */
export const BATCH_QUERY_PATTERN = `^[0-9a-f]{64}:[0-9]{1,8}(,[0-9a-f]{64}:[0-9]{1,8}){0,${MAX_BATCH_CHUNKS - 1}}$`;

/** What a `digests` query parameter (chunks to read, GET …/chunks) must look like. */
export const DIGEST_LIST_PATTERN = `^[0-9a-f]{64}(,[0-9a-f]{64}){0,${MAX_READ_CHUNKS - 1}}$`;

/**
 * The response header listing the blob lengths of a batch read, in the order
 * asked; the body is those blobs back to back (a reader has no use for padding).
 */
export const BATCH_LENGTHS_HEADER = 'cairn-chunk-lengths';

export interface BatchEntry {
  digest: string;
  length: number;
}

export class ChunkBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChunkBatchError';
  }
}

/** Bytes a blob of `length` takes in a batch body, padding included. */
export function batchSlot(length: number): number {
  return blockSpan(length, BATCH_ALIGNMENT);
}

/** The body length that a batch of these blob lengths must have. */
export function batchBodyLength(lengths: readonly number[]): number {
  return lengths.reduce((sum, length) => sum + batchSlot(length), 0);
}

/** The `chunks` query parameter naming `entries`. */
export function formatBatchQuery(entries: readonly BatchEntry[]): string {
  return entries.map((e) => `${e.digest}:${e.length}`).join(',');
}

/** Parses a `chunks` query parameter; throws ChunkBatchError saying what is wrong. */
export function parseBatchQuery(query: string): BatchEntry[] {
  const items = query.split(',').map((item) => item.split(':'));
  checkDigests(
    items.map(([digest = '']) => digest),
    MAX_BATCH_CHUNKS,
    'carries',
  );
  return items.map(([digest = '', text = '']) => {
    const length = Number(text);
    if (!/^[0-9]+$/.test(text) || length < 1 || length > MAX_BLOB_SIZE) throw new ChunkBatchError(`The blob length of chunk ${digest} must be 1 to ${MAX_BLOB_SIZE} bytes, not "${text}".`);
    return { digest, length };
  });
}

/** Parses a `digests` query parameter: distinct digests, 1 to MAX_READ_CHUNKS. */
export function parseDigestList(query: string): string[] {
  const digests = query.split(',');
  checkDigests(digests, MAX_READ_CHUNKS, 'reads');
  return digests;
}

/** The digests one request names: 1 to `max`, each a digest, none twice. */
function checkDigests(digests: readonly string[], max: number, verb: string): void {
  if (digests.length > max) throw new ChunkBatchError(`A request ${verb} 1 to ${max} chunks, not ${digests.length}.`);
  const seen = new Set<string>();
  for (const digest of digests) {
    if (!isDigest(digest)) throw new ChunkBatchError(`"${digest}" is not a chunk digest (64 lowercase hex characters).`);
    if (seen.has(digest)) throw new ChunkBatchError(`Chunk ${digest} is listed twice; name each chunk once.`);
    seen.add(digest);
  }
}

/** The blob lengths a batch read's header lists; throws ChunkBatchError unless it names one per digest asked. */
export function batchReplyLengths(digests: readonly string[], lengthsHeader: string | null): number[] {
  const lengths = (lengthsHeader ?? '').split(',').map(Number);
  if (lengths.length !== digests.length || lengths.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    throw new ChunkBatchError(`the answer's ${BATCH_LENGTHS_HEADER} header (${JSON.stringify(lengthsHeader)}) does not list ${digests.length} blob lengths`);
  }
  return lengths;
}

/**
 * Where each blob of a batch read goes in `into` (aligned, BLOB_SLOT bytes
 * for each blob): one slot each, the blob placed so that what follows its
 * header starts on a BATCH_ALIGNMENT boundary. A raw blob's chunk can then be
 * written around the page cache straight from there, with no copy. Null when
 * the blobs do not fit.
 */
export function replySlots(lengths: readonly number[], into: Buffer): Buffer[] | null {
  if (lengths.length * BLOB_SLOT > into.length || lengths.some((n) => n > BLOB_SLOT)) return null;
  const shifted = BATCH_ALIGNMENT - BLOB_HEADER_SIZE;
  return lengths.map((n, i) => {
    // A raw blob (a header and a whole chunk) always fits shifted; only a blob that could not be one may not.
    const start = i * BLOB_SLOT + (n <= BLOB_SLOT - shifted ? shifted : 0);
    return into.subarray(start, start + n);
  });
}

/** What to send as a batch body: each blob, then the zeros that pad it to its slot (no copies). */
export function batchBodyParts(blobs: Iterable<Uint8Array>): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (const blob of blobs) {
    parts.push(blob);
    const padding = batchSlot(blob.length) - blob.length;
    if (padding > 0) parts.push(PADDING.subarray(0, padding));
  }
  return parts;
}

// Never written: every batch's padding is a view of it.
const PADDING = new Uint8Array(BATCH_ALIGNMENT);

/** The blobs of a batch body, as views into it (no copies), in the order of `entries`. */
export function splitBatchBody(entries: readonly BatchEntry[], body: Buffer): { digest: string; blob: Buffer }[] {
  const expected = batchBodyLength(entries.map((e) => e.length));
  if (body.length !== expected) {
    throw new ChunkBatchError(`The body is ${body.length} bytes, but the chunks listed take ${expected}: each blob padded with zeros to a multiple of ${BATCH_ALIGNMENT} bytes.`);
  }
  let at = 0;
  return entries.map(({ digest, length }) => {
    const blob = body.subarray(at, at + length);
    at += batchSlot(length);
    return { digest, blob };
  });
}

/**
 * Batches talking to the store at once: three, so the server always has one
 * to verify while it writes another (full backup of the 2 GiB benchmark disk
 * 2.72 → 2.49 s against two, for 17 MB more at the peak on each side).
 */
export const BATCHES_IN_FLIGHT = 3;
