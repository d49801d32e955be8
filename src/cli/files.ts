import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, lutimes, mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import type tarStream from 'tar-stream';
import { badRequest, CairnError } from '../domain/errors.js';
import type { FileEntryView, FileListingView } from '../contract/index.js';
import { resolveClient } from './config-file.js';
import type { CairnClient, Query } from './http-client.js';
import { lazily } from './lazy-require.js';
import { globalsOf, parseCount } from './options.js';
import { formatBytes, formatTime, printJson, printMessage, renderTable } from './output.js';

/** Only `files get` of a folder unpacks a tar: other commands do not load it at start. */
const tar = lazily<typeof tarStream>('tar-stream');

const enc = encodeURIComponent;

interface Where {
  disk?: string;
  partition?: string;
}

/** Points and images both have files; an image's ID says it is one. */
const baseOf = (source: string) => `/api/v1/${source.startsWith('img-') ? 'images' : 'points'}/${enc(source)}/files`;

function query(o: Where, path: string): Query {
  return { path, disk: o.disk, partition: parseCount(o.partition, '--partition', { min: 1, max: 128 }) };
}

/** `drwxr-xr-x`, as ls prints it. */
function modeText(e: FileEntryView): string {
  const kind = { directory: 'd', symlink: 'l', file: '-', other: '?' }[e.type];
  const bits = ['r', 'w', 'x'];
  let out = kind;
  for (let i = 8; i >= 0; i--) out += e.mode & (1 << i) ? bits[(8 - i) % 3] : '-';
  return out;
}

function describe(l: FileListingView): string {
  const part = l.partition === null ? '' : `, partition ${l.partition}`;
  return `disk ${l.disk}${part} (${l.filesystem}): ${l.path}`;
}

export function fileCommands(program: Command): void {
  const files = program.command('files').description('Files in a backup point or an image, read in place without restoring the disk');
  const where = (c: Command) => c.option('--disk <name>', 'which disk of the point (default: the first)').option('--partition <n>', 'which partition (default: the first with a readable file system)');

  where(files.command('ls <source> [path]').description('List a folder of a point or an image (default: the root)')).action(async (source: string, path: string | undefined, _o, cmd: Command) => {
    const o = globalsOf<Where>(cmd);
    const client = await resolveClient(o, { requireToken: true });
    const listing = await client.get<FileListingView>(baseOf(source), query(o, path ?? '/'));
    if (o.json) return printJson(listing);
    printMessage(describe(listing));
    const rows = listing.entries.map((e) => [modeText(e), `${e.uid}:${e.gid}`, e.type === 'directory' ? '' : formatBytes(e.size), formatTime(e.mtime), e.target === null ? e.name : `${e.name} -> ${e.target}`]);
    if (rows.length) process.stdout.write(renderTable(['MODE', 'OWNER', 'SIZE', 'MODIFIED', 'NAME'], rows, ['left', 'left', 'right', 'left', 'left']));
    printMessage(`${listing.entries.length} entries`);
  });

  where(
    files
      .command('get <source> <path>')
      .description('Download a file, or a folder as a tree of files (or, with --tar, as one tar file)')
      .requiredOption('-o, --output <path>', 'where to write: the file, the folder to make, or the tar file')
      .option('--tar', 'write a folder as a tar archive instead of a tree'),
  ).action(async (source: string, path: string, _o, cmd: Command) => {
    const o = globalsOf<Where & { output: string; tar?: boolean }>(cmd);
    const client = await resolveClient(o, { requireToken: true });
    const entry = await entryAt(client, source, o, path);
    let bytes: number;
    if (entry.type === 'directory') {
      bytes = o.tar ? await download(client, `${baseOf(source)}/archive`, query(o, path), o.output, null) : await extractTree(client, source, o, path, o.output);
    } else if (entry.type === 'file') {
      if (o.tar) throw badRequest(`${path} is a file; --tar is for folders.`, 'tar');
      bytes = await download(client, `${baseOf(source)}/content`, query(o, path), o.output, entry.size);
      await chmod(o.output, entry.mode & 0o7777);
      await utimes(o.output, new Date(entry.mtime), new Date(entry.mtime));
    } else {
      throw badRequest(`${path} is a ${entry.type}${'target' in entry && entry.target ? ` to ${entry.target}` : ''}; download what it points to, or its folder.`, 'path');
    }
    if (o.json) return printJson({ downloaded: { source, path, output: o.output, bytes } });
    printMessage(`Wrote ${path} of ${source} to ${o.output} (${formatBytes(bytes)}).`);
  });
}

/** The entry at `path`, from its folder's listing; the root, which no folder lists, is a folder. */
async function entryAt(client: CairnClient, source: string, o: Where, path: string): Promise<FileEntryView | { type: 'directory' }> {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  const listing = await client.get<FileListingView>(baseOf(source), query(o, '/' + parts.slice(0, -1).join('/')));
  if (parts.length === 0) return { type: 'directory' };
  const entry = listing.entries.find((e) => e.name === parts[parts.length - 1]);
  if (!entry) throw new CairnError(404, 'not_found', `There is no file or folder ${path} in ${source} (${describe(listing)}).`);
  return entry;
}

/** Streams a GET into a file, checking Content-Length (or, for a file, its known size) so a cut answer is not taken for a whole one. */
async function download(client: CairnClient, url: string, q: Query, output: string, size: number | null): Promise<number> {
  const res = await client.getStream(url, { query: q });
  const declared = res.headers.get('content-length');
  if (size !== null && Number(declared) !== size) {
    res.body.destroy();
    throw new CairnError(502, 'bad_response', `The server announced ${declared ?? 'no'} bytes for a file of ${size}; nothing was written. Try again.`);
  }
  let bytes = 0;
  res.body.on('data', (b: Buffer) => (bytes += b.length));
  try {
    await pipeline(res.body, createWriteStream(output));
  } catch (err) {
    await rm(output, { force: true });
    throw new CairnError(502, 'incomplete_download', `The download of ${output} was cut short after ${bytes} bytes (${err instanceof Error ? err.message : String(err)}); it was removed. Run the command again.`);
  }
  if (size !== null && bytes !== size) {
    await rm(output, { force: true });
    throw new CairnError(502, 'incomplete_download', `Only ${bytes} of ${size} bytes of ${output} arrived; it was removed. Run the command again.`);
  }
  return bytes;
}

/** A folder's tar stream unpacked into `output`: modes and times kept, symlinks made as symlinks, no name let out of `output`. */
async function extractTree(client: CairnClient, source: string, o: Where, path: string, output: string): Promise<number> {
  const res = await client.getStream(`${baseOf(source)}/archive`, { query: query(o, path) });
  const root = resolve(output);
  await mkdir(root, { recursive: true });
  const extract = tar().extract();
  /** Where a name in the archive goes: the first name is the folder itself, what follows is inside it, and nothing may leave it. */
  const inRoot = (name: string): string => {
    const inside = name.split('/').slice(1).join('/');
    const target = resolve(root, inside);
    if (isAbsolute(inside) || (target !== root && !target.startsWith(root + sep)) || relative(root, target).split(sep).includes('..'))
      throw new CairnError(502, 'bad_archive', `The server's archive names ${name}, outside the folder; stopped.`);
    return target;
  };
  const dirTimes: [string, Date, number][] = [];
  let bytes = 0;
  extract.on('entry', (header, stream, next) => {
    void (async () => {
      const target = inRoot(header.name);
      const mtime = header.mtime ?? new Date();
      if (header.type === 'directory') {
        await mkdir(target, { recursive: true });
        dirTimes.push([target, mtime, header.mode ?? 0o755]);
        stream.resume();
      } else if (header.type === 'symlink') {
        await mkdir(dirname(target), { recursive: true });
        await rm(target, { force: true });
        await symlink(header.linkname ?? '', target);
        await lutimes(target, mtime, mtime).catch(() => undefined);
        stream.resume();
      } else if (header.type === 'link') {
        // A second name of a file already written.
        await rm(target, { force: true });
        await link(inRoot(header.linkname ?? ''), target);
        stream.resume();
      } else {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(stream as unknown as Readable, createWriteStream(target));
        bytes += header.size ?? 0;
        await chmod(target, (header.mode ?? 0o644) & 0o7777);
        await utimes(target, mtime, mtime);
      }
    })().then(() => next(), (err: unknown) => next(err instanceof Error ? err : new Error(String(err))));
  });
  try {
    await pipeline(res.body, extract as unknown as NodeJS.WritableStream);
  } catch (err) {
    if (err instanceof CairnError) throw err;
    throw new CairnError(502, 'incomplete_download', `The folder ${path} of ${source} arrived only in part (${err instanceof Error ? err.message : String(err)}); what arrived is in ${output}. Run the command again.`);
  }
  // Folders last, deepest first: writing into a folder changes its time.
  for (const [dir, mtime, mode] of dirTimes.reverse()) {
    await chmod(dir, mode & 0o7777);
    await utimes(dir, mtime, mtime);
  }
  if (!(await lstat(root)).isDirectory()) throw new CairnError(502, 'bad_archive', `${output} is not a folder after the download.`);
  return bytes;
}
