import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { badRequest, CairnError } from '../domain/errors.js';
import type { Page } from '../domain/page.js';
import type { ImageView } from '../contract/index.js';
import { withPool } from './backups.js';
import { resolveClient } from './config-file.js';
import type { CairnClient } from './http-client.js';
import { addPageOptions, globalsOf, pageQuery, requireYes, type PageFlags } from './options.js';
import { formatBytes, formatTime, printJson, printList, printMessage, printObject, type Cell, type Column } from './output.js';
import { progressReporter, type ProgressReporter } from './progress.js';
import { restoreFromServer } from './transfer.js';

const enc = encodeURIComponent;

const source = (i: ImageView) => `${i.source.point_id}/${i.source.disk}`;
const sharedBy = (i: ImageView) => (i.source.owner ? `${i.source.owner.email ?? '?'} (${i.source.owner.id})` : '');

const imageColumns: Column<ImageView>[] = [
  { header: 'ID', value: (i) => i.id },
  { header: 'Name', value: (i) => i.name },
  { header: 'Status', value: (i) => i.status },
  { header: 'Size', value: (i) => formatBytes(i.size), align: 'right' },
  { header: 'From point/disk', value: source },
  { header: 'Shared by', value: sharedBy },
  { header: 'Created', value: (i) => formatTime(i.created_at) },
];

function imageRows(i: ImageView): [string, Cell][] {
  return [
    ['ID', i.id],
    ['Name', i.name],
    ['Description', i.description],
    ['Status', i.status],
    ['Size', `${formatBytes(i.size)} (${i.size} bytes)`],
    ['Created', formatTime(i.created_at, { relative: true })],
    ['Source point', i.source.point_id],
    ['Source disk', i.source.disk],
    ['Source chain', i.source.chain_id],
    ['Source resource', i.source.resource_id],
    ['Shared by', sharedBy(i)],
  ];
}

/** Zero runs are skipped at this granularity, the file system's usual block size. */
const SPARSE_BLOCK = 4096;
const ZEROS = Buffer.alloc(SPARSE_BLOCK);

/**
 * Writes a stream of bytes to a regular file, seeking over all-zero blocks
 * instead of writing them, so an exported disk stays as sparse as the image.
 */
class SparseFileWriter {
  private position = 0;

  private constructor(private readonly fh: FileHandle) {}

  static async open(path: string): Promise<SparseFileWriter> {
    return new SparseFileWriter(await open(path, 'w', 0o644));
  }

  async write(buf: Buffer): Promise<void> {
    let runStart = -1;
    for (let at = 0; at < buf.length; at += SPARSE_BLOCK) {
      const end = Math.min(at + SPARSE_BLOCK, buf.length);
      const zero = buf.subarray(at, end).equals(ZEROS.subarray(0, end - at));
      if (!zero && runStart < 0) runStart = at;
      if (zero && runStart >= 0) {
        await this.writeAll(buf.subarray(runStart, at), this.position + runStart);
        runStart = -1;
      }
    }
    if (runStart >= 0) await this.writeAll(buf.subarray(runStart), this.position + runStart);
    this.position += buf.length;
  }

  /** Sets the final length: trailing zeros were never written. */
  async finish(): Promise<void> {
    await this.fh.truncate(this.position);
    await this.fh.sync();
    await this.fh.close();
  }

  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private async writeAll(buf: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, position + done);
      done += bytesWritten;
    }
  }
}

/**
 * Streams GET …/export into `path` a piece at a time (memory stays at one
 * network read), and checks that exactly Content-Length bytes, the image's
 * size, arrived: a connection cut short must not pass for a whole disk.
 */
async function exportImage(client: CairnClient, image: ImageView, path: string, bar: ProgressReporter): Promise<{ bytes: number }> {
  const existing = await stat(path).catch(() => null);
  if (existing && !existing.isFile()) throw badRequest(`${path} is not a regular file; export writes a file (use \`cairn image restore --device\` for a device).`, 'output');
  const res = await client.getStream(`/api/v1/images/${enc(image.id)}/export`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (!Number.isSafeInteger(declared) || declared !== image.size) {
    res.body.destroy();
    throw new CairnError(502, 'bad_response', `The server answered the export of ${image.id} with Content-Length ${res.headers.get('content-length') ?? '(none)'}, but the image is ${image.size} bytes; nothing was written. Try again, or report it to the server's administrator.`);
  }
  const out = await SparseFileWriter.open(path);
  let bytes = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      const piece = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      bytes += piece.length;
      if (bytes > declared) break;
      await out.write(piece);
      bar.update({ bytesDone: bytes, bytesTotal: declared, bytesSent: bytes });
    }
    if (bytes !== declared)
      throw new CairnError(502, 'incomplete_export', `The export of ${image.id} ${bytes < declared ? 'ended early' : 'ran long'}: ${bytes} bytes received of the ${declared} announced; ${path} was removed. Run the command again.`);
    await out.finish();
  } catch (err) {
    res.body.destroy();
    await out.abandon();
    await unlink(path).catch(() => undefined);
    if (err instanceof CairnError) throw err;
    throw new CairnError(502, 'incomplete_export', `The export of ${image.id} failed after ${bytes} of ${declared} bytes (${err instanceof Error ? err.message : String(err)}); ${path} was removed. Run the command again.`);
  }
  return { bytes };
}

export function imageCommands(program: Command): void {
  const image = program.command('image').description('Images (镜像): disk images made from backup points, your own or shared with you');

  image
    .command('create')
    .description('制作新镜像: make an image from a point (no data is copied, so it is quick at any size)')
    .option('--from <point>', 'the point to make it from')
    .option('--chain <chain>', 'make it from this chain\'s head point (e.g. a chain shared with you)')
    .option('--disk <name>', 'which disk of an instance point (default: the system disk)')
    .requiredOption('--name <name>', 'name of the image')
    .option('--description <text>', 'description')
    .action(async (_o, cmd: Command) => {
      const o = globalsOf<{ from?: string; chain?: string; disk?: string; name: string; description?: string }>(cmd);
      if (!!o.from === !!o.chain) throw badRequest('Give the point to make the image from with --from, or a chain with --chain for its head point (one of them).', 'from');
      const client = await resolveClient(o, { requireToken: true });
      const r = await client.post<{ image: ImageView }>('/api/v1/images', {
        ...(o.from ? { point_id: o.from } : { chain_id: o.chain }),
        ...(o.disk ? { disk: o.disk } : {}),
        name: o.name,
        ...(o.description !== undefined ? { description: o.description } : {}),
      });
      if (o.json) return printJson(r);
      printMessage(`Made image ${r.image.id} (${r.image.name}, ${formatBytes(r.image.size)}) from ${source(r.image)}${r.image.source.owner ? `, shared by ${r.image.source.owner.email ?? r.image.source.owner.id}` : ''}.`);
    });

  addPageOptions(
    image
      .command('list')
      .description('Your images, newest first')
      .addOption(new Option('--source <source>', 'only images made from your own chains, or from chains shared with you').choices(['own', 'shared']))
      .option('--search <text>', 'by name or ID'),
  ).action(async (_o, cmd: Command) => {
    const o = globalsOf<PageFlags & { source?: 'own' | 'shared'; search?: string }>(cmd);
    const page = await (await resolveClient(o, { requireToken: true })).get<Page<ImageView>>('/api/v1/images', { ...pageQuery(o), source: o.source, search: o.search });
    printList(page, imageColumns, { json: o.json, noun: 'images', offset: pageQuery(o).offset });
  });

  image
    .command('show <image>')
    .description('An image and where it came from')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf(cmd);
      const r = await (await resolveClient(o, { requireToken: true })).get<{ image: ImageView }>(`/api/v1/images/${enc(id)}`);
      printObject(r, imageRows(r.image), o);
    });

  image
    .command('rename <image>')
    .description('Give an image a new name (and description)')
    .requiredOption('--name <name>', 'the new name')
    .option('--description <text>', 'a new description')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf<{ name: string; description?: string }>(cmd);
      const r = await (await resolveClient(o, { requireToken: true })).patch<{ image: ImageView }>(`/api/v1/images/${enc(id)}`, {
        name: o.name,
        ...(o.description !== undefined ? { description: o.description } : {}),
      });
      printObject(r, imageRows(r.image), o);
    });

  image
    .command('delete <image>')
    .description('Delete an image; the backups it came from are not touched')
    .option('--yes', 'confirm')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf<{ yes?: boolean }>(cmd);
      requireYes(o.yes, `image ${id}`, 'it cannot be restored, and its data is freed at the next garbage collection unless a backup still holds it.');
      await (await resolveClient(o, { requireToken: true })).delete(`/api/v1/images/${enc(id)}`);
      if (o.json) return printJson({ deleted: id });
      printMessage(`Deleted image ${id}.`);
    });

  image
    .command('export <image>')
    .description('Download an image as a raw disk image file (written sparse), checking that every byte arrived')
    .requiredOption('-o, --output <file>', 'the file to write (replaced if it exists)')
    .option('--quiet', 'no progress output')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf<{ output: string; quiet?: boolean }>(cmd);
      const client = await resolveClient(o, { requireToken: true });
      const { image: img } = await client.get<{ image: ImageView }>(`/api/v1/images/${enc(id)}`);
      const bar = progressReporter(`export ${id}`, { quiet: o.quiet || o.json });
      const r = await exportImage(client, img, o.output, bar).finally(() => bar.stop());
      if (o.json) return printJson({ exported: { image_id: id, file: o.output, bytes: r.bytes } });
      printMessage(`Exported ${id} (${formatBytes(r.bytes)}, ${r.bytes} bytes) to ${o.output}.`);
    });

  image
    .command('restore <image>')
    .description('Restore an image to a file or block device, verifying every chunk')
    .requiredOption('--to <path>', 'target file (written sparse) or block device')
    .option('--device', 'the target is an existing device or image to overwrite in place')
    .option('--quiet', 'no progress output')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf<{ to: string; device?: boolean; quiet?: boolean }>(cmd);
      const client = await resolveClient(o, { requireToken: true });
      const bar = progressReporter(`restore ${id}`, { quiet: o.quiet || o.json });
      const r = await withPool((pool) =>
        restoreFromServer(client, {
          base: `/api/v1/images/${enc(id)}`,
          manifestPath: `/api/v1/images/${enc(id)}/manifest`,
          what: `image ${id}`,
          target: o.to,
          mode: o.device ? 'device' : 'file',
          pool,
          onProgress: (p) => bar.update(p),
        }),
      ).finally(() => bar.stop());
      if (o.json) return printJson({ restored: { image_id: id, target: o.to, ...r } });
      printMessage(`Restored image ${id} (${formatBytes(r.size)}) to ${o.to}: ${r.chunksWritten} chunks written, ${r.chunksSkipped} holes or unchanged.`);
    });
}
