import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FINGERPRINT_SECRET_SIZE } from '../engine/fingerprint.js';

/**
 * This machine's record of the chunk fingerprints of the last point it made of
 * each disk (see engine/fingerprint.ts): one small file per server, resource
 * and disk, replaced after every backup. Only ever a hint. A record that is
 * missing, unreadable or made for another point than the chain's head is
 * ignored, and the backup hashes every chunk.
 */

export interface DiskKey {
  server: string;
  resourceId: string;
  disk: string;
}

export interface FingerprintRecord {
  /** The point whose chunks these are. */
  pointId: string;
  /** SHA-256 of that point's manifest as uploaded: the digests the fingerprints stand for. */
  manifestDigest: string;
  secret: Uint8Array;
  /** By chunk index; null for holes and zeros. */
  fingerprints: (bigint | null)[];
}

const MAGIC = 'cairn-fingerprints 1\n';
const ENTRY = 16;

interface Header {
  point_id: string;
  manifest_sha256: string;
  secret: string;
  chunks: number;
}

/** $CAIRN_CACHE_DIR, else $XDG_CACHE_HOME/cairn, else ~/.cache/cairn. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CAIRN_CACHE_DIR) return env.CAIRN_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'cairn');
}

export class FingerprintCache {
  private readonly dir: string;

  constructor(cacheRoot: string) {
    this.dir = join(cacheRoot, 'fingerprints');
  }

  /** The record of `key` if it was made for `pointId` and its manifest; else undefined. */
  async load(key: DiskKey, pointId: string, manifestDigest: string): Promise<FingerprintRecord | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(key));
    } catch {
      return undefined;
    }
    const record = parse(bytes);
    if (!record || record.pointId !== pointId || record.manifestDigest !== manifestDigest) return undefined;
    return record;
  }

  /** Replaces the record of `key`; written whole or not at all. */
  async save(key: DiskKey, record: FingerprintRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.pathOf(key);
    const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      // The secret is what keeps fingerprint collisions from being planned: readable by this user only.
      await writeFile(tmp, serialize(record), { mode: 0o600 });
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  private pathOf(key: DiskKey): string {
    const name = createHash('sha256').update(`${key.server}\n${key.resourceId}\n${key.disk}`).digest('hex').slice(0, 32);
    return join(this.dir, name);
  }
}

function serialize(record: FingerprintRecord): Buffer {
  const header: Header = {
    point_id: record.pointId,
    manifest_sha256: record.manifestDigest,
    secret: Buffer.from(record.secret).toString('hex'),
    chunks: record.fingerprints.length,
  };
  const head = Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`);
  const body = Buffer.alloc(record.fingerprints.length * ENTRY);
  record.fingerprints.forEach((print, i) => {
    // All zeros stands for "none": a real fingerprint of zero only costs that chunk a hash.
    if (print === null) return;
    body.writeBigUInt64BE(print >> 64n, i * ENTRY);
    body.writeBigUInt64BE(print & 0xffff_ffff_ffff_ffffn, i * ENTRY + 8);
  });
  return Buffer.concat([head, body]);
}

function parse(bytes: Buffer): FingerprintRecord | undefined {
  if (!bytes.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) return undefined;
  const end = bytes.indexOf(0x0a, MAGIC.length);
  if (end < 0) return undefined;
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(MAGIC.length, end).toString('utf8')) as Header;
  } catch {
    return undefined;
  }
  const body = bytes.subarray(end + 1);
  const secret = typeof header.secret === 'string' ? Buffer.from(header.secret, 'hex') : Buffer.alloc(0);
  if (
    typeof header.point_id !== 'string' ||
    typeof header.manifest_sha256 !== 'string' ||
    secret.length !== FINGERPRINT_SECRET_SIZE ||
    !Number.isSafeInteger(header.chunks) ||
    body.length !== header.chunks * ENTRY
  ) {
    return undefined;
  }
  const fingerprints = new Array<bigint | null>(header.chunks);
  for (let i = 0; i < header.chunks; i++) {
    const print = (body.readBigUInt64BE(i * ENTRY) << 64n) | body.readBigUInt64BE(i * ENTRY + 8);
    fingerprints[i] = print === 0n ? null : print;
  }
  return { pointId: header.point_id, manifestDigest: header.manifest_sha256, secret: new Uint8Array(secret), fingerprints };
}
