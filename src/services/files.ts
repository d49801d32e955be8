import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Db } from '../db/connect.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, CairnError, notFound } from '../domain/errors.js';
import { decodeChunk } from '../format/chunk-codec.js';
import { decodeManifest } from '../format/manifest.js';
import { deviceWindow } from '../filesystem/block-device.js';
import { ChunkCache } from '../filesystem/chunk-cache.js';
import { chooseVolume, diskLayout, type DiskLayout, type Volume } from '../filesystem/disk-layout.js';
import { ExtVolume, type Entry } from '../filesystem/ext-volume.js';
import { baseName, filePath } from '../filesystem/file-path.js';
import { ManifestDevice } from '../filesystem/manifest-device.js';
import type { FileListingView } from '../contract/index.js';
import type { ChunkPool } from '../compute/chunk-pool.js';
import type { BackupDataService } from './backup-data.js';
import type { ImagesService } from './images.js';

/** Where files are read from: a backup point (its owner's or shared) or an image of one's own. */
export interface FileSource {
  kind: 'point' | 'image';
  id: string;
}

/** Which disk (by name) and partition (1-based) to read; by default the first disk and its first readable partition. */
export interface VolumeChoice {
  disk?: string;
  partition?: number;
}

interface SourceDisk {
  name: string;
  size: number;
  manifest: string;
}

interface Opened {
  fs: ExtVolume;
  disk: SourceDisk;
  disks: SourceDisk[];
  layout: DiskLayout;
  volume: Volume;
}

/** Decoded chunks kept across requests (8 chunks of 4 MiB): the bound on what reading in place holds. */
export const FILES_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Files out of a backup without restoring its disk: the disk is read in place
 * from its manifest (partition table, file system, then only the chunks the
 * asked-for folders and files occupy), through one bounded cache of decoded
 * chunks. Who may read is asked of BackupDataService (points: owner and
 * recipients of a live share) and ImagesService (images: their owner).
 */
export class FilesService {
  readonly cache: ChunkCache;

  constructor(
    private readonly db: Db,
    private readonly data: BackupDataService,
    private readonly images: ImagesService,
    /** Decodes off the main thread where the server has a chunk pool, so libext2fs's block reads go on meanwhile. */
    private readonly pool?: ChunkPool,
    cacheBytes = FILES_CACHE_BYTES,
  ) {
    this.cache = new ChunkCache(cacheBytes);
  }

  async list(caller: Caller, source: FileSource, choice: VolumeChoice, pathText?: string): Promise<FileListingView> {
    const path = filePath(pathText);
    const o = await this.open(caller, source, choice);
    try {
      const entries = await o.fs.list(path);
      return {
        disk: o.disk.name,
        disks: o.disks.map((d) => ({ name: d.name, size: d.size })),
        table: o.layout.table,
        partitions: o.layout.volumes,
        partition: o.volume.number,
        filesystem: o.volume.filesystem!,
        path,
        entries,
      };
    } finally {
      await o.fs.close();
    }
  }

  /**
   * One file's bytes [start, end], where `range` picks them once the size is
   * known (null: all). The first piece is read before this returns, so a
   * damaged chunk at the start is an error, not a cut answer.
   */
  async file(
    caller: Caller,
    source: FileSource,
    choice: VolumeChoice,
    pathText: string | undefined,
    range: (size: number) => { start: number; end: number } | null,
  ): Promise<{ entry: Entry; start: number; end: number; partial: boolean; stream: Readable }> {
    const path = filePath(pathText);
    const o = await this.open(caller, source, choice);
    try {
      const entry = await o.fs.entry(path);
      if (entry.type === 'directory') throw badRequest(`${path} is a folder; download it as a tar archive instead.`, 'path');
      if (entry.type === 'symlink') throw badRequest(`${path} is a symlink to ${entry.target}; download what it points to instead.`, 'path');
      if (entry.type !== 'file') throw badRequest(`${path} is not a regular file (a device, a socket or a pipe), so it has no content to download.`, 'path');
      const picked = range(entry.size);
      const start = picked?.start ?? 0;
      const end = picked?.end ?? entry.size - 1;
      const pieces = o.fs.pieces(path, start, end);
      const first = await pieces.next();
      async function* all(): AsyncGenerator<Buffer> {
        try {
          if (!first.done) yield first.value;
          yield* pieces;
        } finally {
          await o.fs.close();
        }
      }
      return { entry, start, end, partial: picked !== null, stream: Readable.from(all(), { objectMode: false }) };
    } catch (err) {
      await o.fs.close();
      throw err;
    }
  }

  /**
   * A folder and all under it as a tar stream (ustar, with pax headers for long
   * names): symlinks stay symlinks, and a file's second name in the folder is a
   * hard link to its first, as tar itself writes them.
   */
  async archive(caller: Caller, source: FileSource, choice: VolumeChoice, pathText?: string): Promise<{ name: string; stream: Readable }> {
    const path = filePath(pathText);
    const o = await this.open(caller, source, choice);
    let root: Entry;
    try {
      root = await o.fs.entry(path);
      if (root.type !== 'directory') throw badRequest(`${path} is a ${root.type}, not a folder; download it as a file instead.`, 'path');
    } catch (err) {
      await o.fs.close();
      throw err;
    }
    const name = path === '/' ? (source.id + (o.volume.number === null ? '' : `-p${o.volume.number}`)) : baseName(path);
    const pack = tar.pack();
    const firstNames = new Map<number, string>();
    // A client that goes away closes the pack: every wait below gives up then, so the walk ends and the file system is closed.
    let gone = false;
    const closed = new Promise<never>((_resolve, reject) => pack.once('close', () => ((gone = true), reject(new Error('the answer was closed before its end')))));
    closed.catch(() => undefined);
    const added = (header: Parameters<typeof pack.entry>[0]) => Promise.race([new Promise<void>((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve()))), closed]);
    const add = async (entry: Entry, inTar: string): Promise<void> => {
      const header = { name: inTar, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: new Date(entry.mtime) };
      if (entry.type === 'directory') {
        await added({ ...header, type: 'directory' });
        for (const child of await o.fs.list(entry.path)) await add(child, `${inTar}/${child.name}`);
      } else if (entry.type === 'symlink') {
        await added({ ...header, type: 'symlink', linkname: entry.target ?? '' });
      } else if (entry.type === 'file' && entry.nlink > 1 && firstNames.has(entry.inode)) {
        await added({ ...header, type: 'link', linkname: firstNames.get(entry.inode)! });
      } else if (entry.type === 'file') {
        if (entry.nlink > 1) firstNames.set(entry.inode, inTar);
        let settle!: (err?: Error | null) => void;
        const written = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
        const sink = pack.entry({ ...header, type: 'file', size: entry.size }, (err) => settle(err));
        // Awaited below; until then a failure (the pack destroyed meanwhile) must not count as unhandled.
        written.catch(() => undefined);
        for await (const piece of o.fs.pieces(entry.path, 0, entry.size - 1)) {
          if (gone) break;
          if (!sink.write(piece)) await Promise.race([new Promise<void>((resolve) => sink.once('drain', () => resolve())), closed]);
        }
        (sink as NodeJS.WritableStream).end();
        await Promise.race([written, closed]);
      }
      // Devices, sockets and pipes have no content to take out; they are left out.
    };
    void (async () => {
      try {
        await add(root, name);
        pack.finalize();
      } catch (err) {
        pack.destroy(err instanceof Error ? err : new Error(String(err)));
      } finally {
        await o.fs.close();
      }
    })();
    return { name, stream: pack as unknown as Readable };
  }

  private async open(caller: Caller, source: FileSource, choice: VolumeChoice): Promise<Opened> {
    const { label, disks } = await this.sourceDisks(caller, source);
    const disk = choice.disk === undefined ? disks[0] : disks.find((d) => d.name === choice.disk);
    if (!disk) throw new CairnError(404, 'not_found', `${label} has no disk ${choice.disk}; it has ${disks.map((d) => d.name).join(', ')}.`);
    const manifest = decodeManifest(await this.data.manifestBody(disk.manifest));
    const device = new ManifestDevice(manifest, (_index, digest) => this.cache.get(digest, () => this.decoded(disk.manifest, digest, label)));
    device.readAhead = (digest) => void this.cache.get(digest, () => this.decoded(disk.manifest, digest, label)).catch(() => undefined);
    const layout = await diskLayout(device);
    const volume = chooseVolume(layout, choice.partition, disk.name);
    const where = volume.number === null ? `disk ${disk.name} of ${label}` : `partition ${volume.number} of disk ${disk.name} of ${label}`;
    const fs = await ExtVolume.open(deviceWindow(device, volume.start, volume.size), where);
    return { fs, disk, disks, layout, volume };
  }

  private async sourceDisks(caller: Caller, source: FileSource): Promise<{ label: string; disks: SourceDisk[] }> {
    if (source.kind === 'image') {
      const image = await this.images.readableDisk(caller, source.id);
      return { label: `image ${source.id}`, disks: [image] };
    }
    await this.data.readablePoint(caller, source.id);
    const rows = await this.db.selectFrom('point_disks').selectAll().where('point_id', '=', source.id).orderBy('position').execute();
    const disks = rows.flatMap((r) => (r.manifest_digest ? [{ name: r.disk_name, size: r.size, manifest: r.manifest_digest }] : []));
    if (disks.length === 0) throw notFound('Disk of backup point', source.id);
    return { label: `backup point ${source.id}`, disks };
  }

  private decoded(manifest: string, digest: string, label: string): Promise<Buffer> {
    return this.data.withChunkOfManifest(manifest, digest, label, async (blob) => (this.pool ? (await this.pool.decode(blob, digest)).data : decodeChunk(blob, digest)), 'take the file from another point');
  }
}
