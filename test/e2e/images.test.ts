import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CHUNK, chunkStoreFiles as storedFiles, cliUser, fetchManifest, fillRandom, makeRawDisk, MiB, type CliUser } from '../helpers/cli.js';
import { allocatedBytes, filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectStatus, type Json } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Images (镜像) end to end: made from points without copying data, from either disk
// of an instance, renamed and deleted, exported over HTTP (whole and by range) and
// with the CLI, restored with the CLI, and invisible to every other account.

let dir: string;
let server: TestServer;
let owner: CliUser;
let stranger: CliUser;

/** A volume whose size is not a whole number of chunks: data, a 4 MiB hole, data. */
const VOL_SIZE = 12 * MiB + 5000;
const vol = { id: '', disk: '', point: '', image: '' };
/** An instance with a system disk and a data disk, backed up as one point. */
const inst = { id: '', root: '', data: '', point: '' };

before(async () => {
  dir = await makeTempDir('cairn-e2e-images-');
  server = await startServer();
  [owner, stranger] = await Promise.all([cliUser(server.url, dir, 'owner'), cliUser(server.url, dir, 'stranger')]);

  vol.disk = await makeRawDisk(join(dir, 'vol.img'), VOL_SIZE, 4 * MiB, 'images-vol-a');
  await fillRandom(vol.disk, 8 * MiB, VOL_SIZE - 8 * MiB, 'images-vol-b');
  inst.root = await makeRawDisk(join(dir, 'root.img'), 8 * MiB, 3 * MiB, 'images-root');
  inst.data = await makeRawDisk(join(dir, 'data.img'), 6 * MiB + 777, 6 * MiB + 777, 'images-data');
  const [v, i] = await Promise.all([
    owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'vol', '--disk', `root:${VOL_SIZE}`]),
    owner.cli.ok(['resource', 'create', '--kind', 'instance', '--name', 'vm', '--disk', 'root:8M', '--disk', `data:${6 * MiB + 777}`]),
  ]);
  vol.id = v.resource.id;
  inst.id = i.resource.id;
  const [vp, ip] = await Promise.all([
    owner.cli.ok(['backup', vol.id, '--disk', vol.disk, '--full']),
    owner.cli.ok(['backup', inst.id, '--disk', `root=${inst.root}`, '--disk', `data=${inst.data}`, '--full']),
  ]);
  vol.point = vp.point.id;
  inst.point = ip.point.id;
});

after(async () => {
  try {
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

const chunkStoreFiles = () => storedFiles(server.dataDir);

const exportOf = (user: CliUser, id: string, range?: string) => user.api().get(`/images/${id}/export`, undefined, range ? { headers: { range } } : {});

test('making an image writes no chunk data: the chunk store is exactly the same before and after', async () => {
  const before = await chunkStoreFiles();
  assert.ok(before.size >= 4, `the backups stored chunks: ${before.size} files`);

  const made = await owner.cli.ok(['image', 'create', '--from', vol.point, '--name', 'vol-image', '--description', 'first image']);
  vol.image = made.image.id;
  assert.match(vol.image, /^img-[a-z0-9]{8}$/);
  assert.equal(made.image.size, VOL_SIZE);
  assert.equal(made.image.status, 'available');
  assert.equal(made.image.description, 'first image');
  assert.deepEqual(made.image.source, { point_id: vol.point, chain_id: vol.point, resource_id: vol.id, disk: 'root', owner: null });
  // A few more, of both points, at once.
  await Promise.all([
    owner.cli.ok(['image', 'create', '--from', vol.point, '--name', 'again']),
    owner.cli.ok(['image', 'create', '--chain', inst.point, '--name', 'vm-head']),
    owner.cli.ok(['image', 'create', '--from', inst.point, '--disk', 'data', '--name', 'vm-data']),
  ]);

  assert.deepEqual(await chunkStoreFiles(), before, 'no chunk file was added, removed or rewritten');
});

test('an image of an instance point is its system disk by default, or the data disk named with --disk', async () => {
  const [sys, data, nope, both, neither] = await Promise.all([
    owner.cli.ok(['image', 'create', '--from', inst.point, '--name', 'vm-system']),
    owner.cli.ok(['image', 'create', '--from', inst.point, '--disk', 'data', '--name', 'vm-data-2']),
    owner.cli.fails(['image', 'create', '--from', inst.point, '--disk', 'nope', '--name', 'x'], 2),
    owner.cli.fails(['image', 'create', '--from', inst.point, '--chain', inst.point, '--name', 'x'], 2),
    owner.cli.fails(['image', 'create', '--name', 'x'], 2),
  ]);
  assert.equal(sys.image.source.disk, 'root');
  assert.equal(sys.image.size, 8 * MiB);
  assert.equal(data.image.source.disk, 'data');
  assert.equal(data.image.size, 6 * MiB + 777);
  assert.match(nope.stderr, /no disk "nope"; it has root, data/);
  for (const r of [both, neither]) assert.match(r.stderr, /--from.*--chain/);

  for (const [img, source] of [
    [sys.image.id, inst.root],
    [data.image.id, inst.data],
  ] as const) {
    const out = join(dir, `${img}.raw`);
    await owner.cli.ok(['image', 'export', img, '-o', out]);
    assert.ok(await filesEqual(out, source), `image ${img} exports ${source}`);
  }
});

test('export over HTTP: the whole image with its Content-Length, and byte ranges with 206 and Content-Range', async () => {
  const source = await readFile(vol.disk);
  const whole = await exportOf(owner, vol.image);
  expectStatus(whole, 200, 'whole export');
  assert.equal(whole.headers.get('content-length'), String(VOL_SIZE));
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.equal(whole.headers.get('content-type'), 'application/octet-stream');
  assert.ok(whole.bytes.equals(source), 'the whole export is the disk');

  const last = VOL_SIZE - 1;
  const cases: [header: string, start: number, end: number][] = [
    ['bytes=0-0', 0, 0],
    ['bytes=100-5000', 100, 5000],
    // Across a chunk boundary, into the hole, across the hole's end, and the short last chunk.
    [`bytes=${CHUNK - 10}-${CHUNK + 10}`, CHUNK - 10, CHUNK + 10],
    [`bytes=${5 * MiB}-${5 * MiB + 99}`, 5 * MiB, 5 * MiB + 99],
    [`bytes=${2 * CHUNK - 50}-${2 * CHUNK + 50}`, 2 * CHUNK - 50, 2 * CHUNK + 50],
    [`bytes=${3 * CHUNK}-`, 3 * CHUNK, last],
    ['bytes=-100', VOL_SIZE - 100, last],
    [`bytes=${VOL_SIZE - 10}-${VOL_SIZE + 1000}`, VOL_SIZE - 10, last],
    ['bytes=0-', 0, last],
  ];
  for (const [header, start, end] of cases) {
    const r = await exportOf(owner, vol.image, header);
    expectStatus(r, 206, header);
    assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${VOL_SIZE}`, header);
    assert.equal(r.headers.get('content-length'), String(end - start + 1), header);
    assert.ok(r.bytes.equals(source.subarray(start, end + 1)), `${header}: the bytes are the disk's`);
  }
  assert.ok((await exportOf(owner, vol.image, `bytes=${5 * MiB}-${5 * MiB + 99}`)).bytes.every((b) => b === 0), 'a hole exports as zeros');

  for (const header of [`bytes=${VOL_SIZE}-`, `bytes=${VOL_SIZE + 5}-${VOL_SIZE + 10}`, 'bytes=-0']) {
    const r = await exportOf(owner, vol.image, header);
    assert.equal(r.status, 416, `${header}: ${r.text}`);
    assert.equal(r.headers.get('content-range'), `bytes */${VOL_SIZE}`, header);
    assert.equal(r.body?.error?.code, 'range_not_satisfiable');
  }
});

test('`image export` writes the image, sparse, and `image restore` writes it to a file or over a device', async () => {
  const out = join(dir, 'exported.raw');
  const [exported, human] = await Promise.all([
    owner.cli.ok(['image', 'export', vol.image, '-o', out]),
    owner.cli.run(['image', 'export', vol.image, '--output', join(dir, 'exported-2.raw'), '--quiet'], { json: false }),
  ]);
  assert.deepEqual(exported.exported, { image_id: vol.image, file: out, bytes: VOL_SIZE });
  assert.ok(await filesEqual(out, vol.disk));
  assert.equal((await stat(out)).size, VOL_SIZE);
  assert.ok((await allocatedBytes(out)) <= VOL_SIZE - 3 * MiB, 'the 4 MiB hole stays a hole in the exported file');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^Exported ${vol.image} \\(.*, ${VOL_SIZE} bytes\\) to `, 'm'));
  assert.ok(await filesEqual(join(dir, 'exported-2.raw'), vol.disk));

  const restored = join(dir, 'restored.raw');
  const r = await owner.cli.ok(['image', 'restore', vol.image, '--to', restored]);
  assert.equal(r.restored.image_id, vol.image);
  assert.equal(r.restored.size, VOL_SIZE);
  assert.ok(await filesEqual(restored, vol.disk));

  // Over an existing "device" full of other bytes: every byte is made the image's, the hole zeroed.
  const device = join(dir, 'device.raw');
  await writeFile(device, Buffer.alloc(VOL_SIZE, 0xa5));
  await owner.cli.ok(['image', 'restore', vol.image, '--to', device, '--device']);
  assert.ok(await filesEqual(device, vol.disk));
});

test('rename and delete an image; the point it came from is untouched', async () => {
  const img = (await owner.cli.ok(['image', 'create', '--from', vol.point, '--name', 'to-rename'])).image.id;
  const renamed = await owner.cli.ok(['image', 'rename', img, '--name', 'Golden Image', '--description', 'release 1.0']);
  assert.equal(renamed.image.name, 'Golden Image');
  assert.equal(renamed.image.description, 'release 1.0');
  const [shown, found, own, shared, tooLong] = await Promise.all([
    owner.cli.ok(['image', 'show', img]),
    owner.cli.ok(['image', 'list', '--search', 'golden']),
    owner.cli.ok(['image', 'list', '--source', 'own', '--limit', '100']),
    owner.cli.ok(['image', 'list', '--source', 'shared']),
    owner.cli.fails(['image', 'rename', img, '--name', 'x'.repeat(200)], 2),
  ]);
  assert.equal(shown.image.name, 'Golden Image');
  assert.deepEqual(
    found.items.map((i: Json) => i.id),
    [img],
  );
  assert.ok(own.items.some((i: Json) => i.id === img));
  assert.equal(shared.total_count, 0, 'no image of the owner came from a share');
  assert.match(tooLong.stderr, /name/i);

  const unconfirmed = await owner.cli.fails(['image', 'delete', img], 2);
  assert.match(unconfirmed.stderr, /--yes/);
  assert.equal((await owner.cli.ok(['image', 'show', img])).image.status, 'available');
  assert.deepEqual((await owner.cli.ok(['image', 'delete', img, '--yes'])).deleted, img);
  const [gone, exportGone, again, list] = await Promise.all([
    owner.cli.fails(['image', 'show', img], 4),
    owner.cli.fails(['image', 'export', img, '-o', join(dir, 'gone.raw')], 4),
    owner.cli.fails(['image', 'delete', img, '--yes'], 4),
    owner.cli.ok(['image', 'list', '--limit', '100']),
  ]);
  for (const r of [gone, exportGone, again]) assert.match(r.stderr, new RegExp(`${img} was not found`));
  assert.ok(!list.items.some((i: Json) => i.id === img));
  assert.equal(expectStatus(await owner.api().get(`/points/${vol.point}`), 200).point.status, 'available');
  assert.equal(expectStatus(await owner.api().get(`/images/${vol.image}`), 200).image.status, 'available', 'other images of the point stay');
});

test('another account gets 404 for the image, however it asks', async () => {
  const digest = (await fetchManifest(owner, vol.point, 'root')).chunks.find((d): d is string => d !== null)!;
  const as = stranger.api();
  const replies = await Promise.all([
    as.get(`/images/${vol.image}`),
    as.get(`/images/${vol.image}/manifest`),
    as.get(`/images/${vol.image}/chunks/${digest}`),
    exportOf(stranger, vol.image),
    exportOf(stranger, vol.image, 'bytes=0-99'),
    as.patch(`/images/${vol.image}`, { name: 'mine' }),
    as.delete(`/images/${vol.image}`),
    as.post('/images', { point_id: vol.point, name: 'mine' }),
  ]);
  for (const r of replies) assert.equal(r.status, 404, `${r.status} ${r.text}`);
  const cli = await Promise.all([
    stranger.cli.fails(['image', 'show', vol.image], 4),
    stranger.cli.fails(['image', 'export', vol.image, '-o', join(dir, 'stranger.raw')], 4),
    stranger.cli.fails(['image', 'restore', vol.image, '--to', join(dir, 'stranger-2.raw')], 4),
    stranger.cli.fails(['image', 'rename', vol.image, '--name', 'mine'], 4),
    stranger.cli.fails(['image', 'delete', vol.image, '--yes'], 4),
    stranger.cli.fails(['image', 'create', '--from', vol.point, '--name', 'mine'], 4),
  ]);
  for (const r of cli) assert.match(r.stderr, /not found/);
  assert.equal((await stranger.cli.ok(['image', 'list'])).total_count, 0);

  // A digest alone opens nothing: a chunk of another disk is not served through this image.
  const other = (await fetchManifest(owner, inst.point, 'data')).chunks.find((d): d is string => d !== null)!;
  assert.equal((await owner.api().get(`/images/${vol.image}/chunks/${other}`)).status, 404);

  const still = expectStatus(await owner.api().get(`/images/${vol.image}`), 200).image;
  assert.equal(still.name, 'vol-image');
  assert.equal(still.status, 'available');
});
