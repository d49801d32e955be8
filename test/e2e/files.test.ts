import assert from 'node:assert/strict';
import { copyFile, link, lstat, mkdir, open, readdir, readFile, readlink, symlink, truncate, utimes, writeFile, chmod, lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tar from 'tar-stream';
import { CHUNK, cliUser, damageChunk, fetchManifest, makeRawDisk, MiB, type CliUser } from '../helpers/cli.js';
import { makeExt4FromTree, makeTempDir, physicalBlockOf, removeTempDir, seededRandom, writeGpt } from '../helpers/disk-images.js';
import { expectStatus, type Json } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Files out of a backup without restoring it: ext4 disks made with mke2fs -d from
// a known tree (unicode names, empty, sparse and large files, symlinks, hard links,
// deep folders) are backed up, then listed and read back through the API and the
// CLI and compared with the tree, file by file; a GPT disk, disks with no or an
// unsupported file system, bad paths, strangers and a damaged chunk are refused clearly.

let dir: string;
let tree: string;
let server: TestServer;
let owner: CliUser;
let friend: CliUser;
let stranger: CliUser;
const plain = { disk: '', point: '', image: '' };
const gpt = { disk: '', point: '' };
const bad = { raw: '', xfs: '', rawPoint: '', xfsPoint: '' };

const BIG = 13 * MiB + 12_345;
const UNICODE = 'ünïcödé 文件 😀.txt';
const DEEP = 'deep/a/b/c/d/e/f/g/h/i/j';

async function makeTree(root: string): Promise<void> {
  const rng = seededRandom('files-tree');
  await mkdir(join(root, DEEP), { recursive: true });
  await writeFile(join(root, 'hello.txt'), 'hello, world\n');
  await writeFile(join(root, 'empty'), '');
  await writeFile(join(root, UNICODE), 'unicode name\n');
  await writeFile(join(root, 'big.bin'), rng.bytes(BIG));
  await writeFile(join(root, DEEP, 'leaf.txt'), 'at the bottom\n');
  await writeFile(join(root, 'deep/a/mid.bin'), rng.bytes(70_000));
  // Sparse: 20 MiB long, 4 KiB of data at 10 MiB.
  await writeFile(join(root, 'sparse.bin'), '');
  await truncate(join(root, 'sparse.bin'), 20 * MiB);
  const fh = await open(join(root, 'sparse.bin'), 'r+');
  await fh.write(rng.bytes(4096), 0, 4096, 10 * MiB);
  await fh.close();
  await symlink('hello.txt', join(root, 'link'));
  await symlink(`/${DEEP}/leaf.txt`, join(root, 'abs-link'));
  await symlink('nowhere', join(root, 'dangling'));
  await link(join(root, 'hello.txt'), join(root, 'deep/hard-hello.txt'));
  await writeFile(join(root, 'script.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'script.sh'), 0o750);
  await chmod(join(root, 'deep/a'), 0o700);
  // Distinct times, oldest first, folders after their contents.
  let t = Date.UTC(2023, 0, 1) / 1000;
  for (const rel of ['hello.txt', 'empty', UNICODE, 'big.bin', `${DEEP}/leaf.txt`, 'deep/a/mid.bin', 'sparse.bin', 'script.sh', 'deep/hard-hello.txt']) await utimes(join(root, rel), (t += 3600), t);
  for (const rel of ['link', 'abs-link', 'dangling']) await lutimes(join(root, rel), (t += 60), t);
  for (let d = DEEP; d !== '.'; d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '.') await utimes(join(root, d), (t += 60), t);
}

before(async () => {
  dir = await makeTempDir('cairn-e2e-files-');
  tree = join(dir, 'tree');
  await mkdir(tree);
  await makeTree(tree);
  server = await startServer();
  [owner, friend, stranger] = await Promise.all([cliUser(server.url, dir, 'owner'), cliUser(server.url, dir, 'friend'), cliUser(server.url, dir, 'stranger')]);

  plain.disk = await makeExt4FromTree(join(dir, 'plain.img'), tree, 64);
  // A GPT disk: partition 1 (1 MiB, nothing in it), partition 2 the same ext4, at a place no chunk boundary matches.
  gpt.disk = join(dir, 'gpt.img');
  await writeFile(gpt.disk, '');
  await truncate(gpt.disk, 72 * MiB);
  {
    const src = await readFile(plain.disk);
    const fh = await open(gpt.disk, 'r+');
    await fh.write(src, 0, src.length, 3 * MiB);
    await fh.close();
  }
  await writeGpt(gpt.disk, [
    { firstLba: 2048, lastLba: 4095, name: 'empty' },
    { firstLba: 6144, lastLba: 6144 + (64 * MiB) / 512 - 1, name: 'root' },
  ]);
  bad.raw = await makeRawDisk(join(dir, 'raw.img'), 8 * MiB, 8 * MiB, 'files-raw');
  bad.xfs = join(dir, 'xfs.img');
  await copyFile(bad.raw, bad.xfs);
  {
    const fh = await open(bad.xfs, 'r+');
    await fh.write(Buffer.from('XFSB'), 0, 4, 0);
    await fh.close();
  }

  const made = await Promise.all([
    owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'plain', '--disk', 'root:64M']),
    owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'gpt', '--disk', 'root:72M']),
    owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'raw', '--disk', 'root:8M']),
    owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'xfs', '--disk', 'root:8M']),
  ]);
  const points = await Promise.all(
    [plain.disk, gpt.disk, bad.raw, bad.xfs].map((disk, i) => owner.cli.ok(['backup', made[i].resource.id, '--disk', disk, '--full'])),
  );
  [plain.point, gpt.point, bad.rawPoint, bad.xfsPoint] = points.map((p) => p.point.id);
  plain.image = (await owner.cli.ok(['image', 'create', '--from', plain.point, '--name', 'plain-image'])).image.id;
});

after(async () => {
  try {
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

const listing = (user: CliUser, base: string, query: Record<string, string | number> = {}) => user.api().get(`${base}/files`, query);

/** Every path of the tree (folders, files, symlinks), relative, sorted. */
async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    out.push(path);
    if ((await lstat(join(root, path))).isDirectory()) out.push(...(await walk(root, path)));
  }
  return out;
}

/** Compares every entry the server lists under `base` with the tree: type, size, mode, owner, time, target, and each file's bytes. */
async function assertMatchesTree(user: CliUser, base: string, query: Record<string, string | number> = {}): Promise<void> {
  const seen: string[] = [];
  const inodes = new Map<string, number>();
  const visit = async (path: string): Promise<void> => {
    const l = expectStatus(await listing(user, base, { ...query, path }), 200, `list ${path}`);
    for (const e of l.entries as Json[]) {
      if (e.name === 'lost+found') continue;
      const rel = e.path.slice(1);
      seen.push(rel);
      const s = await lstat(join(tree, rel));
      const type = s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'file';
      assert.equal(e.type, type, `${rel}: type`);
      assert.equal(e.mode, s.mode & 0o7777, `${rel}: mode`);
      assert.equal(e.uid, s.uid, `${rel}: uid`);
      assert.equal(e.gid, s.gid, `${rel}: gid`);
      assert.equal(Date.parse(e.mtime) / 1000, Math.floor(s.mtimeMs / 1000), `${rel}: mtime`);
      if (type === 'symlink') assert.equal(e.target, await readlink(join(tree, rel)), `${rel}: target`);
      else assert.equal(e.target, null);
      if (type === 'file') {
        assert.equal(e.size, s.size, `${rel}: size`);
        assert.equal(e.nlink, s.nlink, `${rel}: links`);
        if (s.nlink > 1) inodes.set(rel, e.inode);
        const content = await user.api().get(`${base}/files/content`, { ...query, path: e.path });
        expectStatus(content, 200, `read ${rel}`);
        assert.equal(content.headers.get('content-length'), String(s.size), `${rel}: Content-Length`);
        assert.ok(content.bytes.equals(await readFile(join(tree, rel))), `${rel}: content`);
      }
      if (type === 'directory') await visit(e.path);
    }
  };
  await visit('/');
  assert.deepEqual(seen.sort(), await walk(tree), 'the same names, no more, no fewer');
  assert.equal(inodes.get('hello.txt'), inodes.get('deep/hard-hello.txt'), 'hard links share their inode');
  assert.ok(inodes.get('hello.txt'));
}

test('a whole-disk ext4 point: every folder, file and symlink matches the tree it was made from', async () => {
  const root = expectStatus(await listing(owner, `/points/${plain.point}`), 200, 'list the root');
  assert.equal(root.disk, 'root');
  assert.equal(root.table, 'none');
  assert.equal(root.partition, null);
  assert.equal(root.filesystem, 'ext4');
  assert.deepEqual(root.partitions.map((p: Json) => p.filesystem), ['ext4']);
  await assertMatchesTree(owner, `/points/${plain.point}`);
});

test('a GPT disk with ext4 in its second partition: found, and read the same', async () => {
  const root = expectStatus(await listing(owner, `/points/${gpt.point}`), 200, 'list the root');
  assert.equal(root.table, 'gpt');
  assert.equal(root.partition, 2, 'the first partition with a readable file system');
  assert.deepEqual(
    root.partitions.map((p: Json) => [p.number, p.start, p.size, p.name, p.filesystem]),
    [
      [1, MiB, MiB, 'empty', null],
      [2, 3 * MiB, 64 * MiB, 'root', 'ext4'],
    ],
  );
  await assertMatchesTree(owner, `/points/${gpt.point}`, { partition: 2 });
  const first = await listing(owner, `/points/${gpt.point}`, { partition: 1 });
  expectStatus(first, 422, 'partition 1 has no file system');
  assert.equal(first.body.error.code, 'no_filesystem');
  assert.match(first.body.error.message, /Partition 1 of disk root holds no file system/);
  const none = await listing(owner, `/points/${gpt.point}`, { partition: 5 });
  expectStatus(none, 404, 'no partition 5');
  assert.match(none.body.error.message, /no partition 5; it has a GPT partition table with partition 1 \(no file system\), partition 2 \(ext4\)/);
});

test('a large file across chunks: ranges with 206, Content-Range and the right Content-Length', async () => {
  const source = await readFile(join(tree, 'big.bin'));
  const base = `/points/${plain.point}/files/content`;
  for (const [header, start, end] of [
    ['bytes=0-0', 0, 0],
    [`bytes=${CHUNK - 10}-${2 * CHUNK + 10}`, CHUNK - 10, 2 * CHUNK + 10],
    ['bytes=-100', BIG - 100, BIG - 1],
    [`bytes=${BIG - 5}-`, BIG - 5, BIG - 1],
  ] as const) {
    const r = await owner.api().get(base, { path: '/big.bin' }, { headers: { range: header } });
    expectStatus(r, 206, header);
    assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${BIG}`);
    assert.equal(r.headers.get('content-length'), String(end - start + 1));
    assert.ok(r.bytes.equals(source.subarray(start, end + 1)), `${header}: the bytes`);
  }
  const outside = await owner.api().get(base, { path: '/big.bin' }, { headers: { range: `bytes=${BIG}-` } });
  expectStatus(outside, 416, 'a range past the end');
  assert.equal(outside.headers.get('content-range'), `bytes */${BIG}`);
  const name = await owner.api().get(base, { path: `/${UNICODE}` });
  expectStatus(name, 200, 'a unicode name');
  assert.match(name.headers.get('content-disposition') ?? '', new RegExp(`filename\\*=UTF-8''${encodeURIComponent(UNICODE).replace(/[()*]/g, '\\$&')}`));
});

test('bad input is refused with a clear 4xx: "..", no such path, a folder or symlink as a file, no or an unsupported file system', async () => {
  const base = `/points/${plain.point}`;
  const cases: [string, Record<string, string | number>, number, RegExp][] = [
    ['/files', { path: '/deep/../etc' }, 400, /contains ".."/],
    ['/files', { path: '../../etc/passwd' }, 400, /contains ".."/],
    ['/files/content', { path: '/deep/..' }, 400, /contains ".."/],
    ['/files', { path: '/no/such/folder' }, 404, /no file or folder \/no\/such\/folder/],
    ['/files/content', { path: '/missing.txt' }, 404, /no file or folder \/missing\.txt/],
    ['/files', { path: '/hello.txt' }, 400, /\/hello\.txt is a file, not a folder/],
    ['/files/content', { path: '/deep' }, 400, /\/deep is a folder; download it as a tar/],
    ['/files/content', { path: '/link' }, 400, /\/link is a symlink to hello\.txt/],
    ['/files/archive', { path: '/hello.txt' }, 400, /not a folder/],
    ['/files', { disk: 'data' }, 404, /has no disk data; it has root/],
  ];
  for (const [path, query, status, message] of cases) {
    const r = await owner.api().get(`${base}${path}`, query);
    expectStatus(r, status, `${path} ${JSON.stringify(query)}`);
    assert.match(r.body.error.message, message);
  }
  const raw = await listing(owner, `/points/${bad.rawPoint}`);
  expectStatus(raw, 422, 'a disk of random bytes');
  assert.equal(raw.body.error.code, 'no_filesystem');
  assert.match(raw.body.error.message, /Disk root holds no file system Cairn recognizes \(the disk has no partition table\)/);
  const xfs = await owner.api().get(`/points/${bad.xfsPoint}/files/content`, { path: '/x' });
  expectStatus(xfs, 422, 'an xfs disk');
  assert.equal(xfs.body.error.code, 'filesystem_unsupported');
  assert.match(xfs.body.error.message, /holds xfs, which is not supported yet: only ext2, ext3 and ext4/);
});

test('who may read: the owner and a recipient of a live share; a stranger, or the recipient after the share ends, gets 404', async () => {
  expectStatus(await listing(stranger, `/points/${plain.point}`), 404, 'a stranger lists');
  expectStatus(await stranger.api().get(`/points/${plain.point}/files/content`, { path: '/hello.txt' }), 404, 'a stranger reads');
  expectStatus(await stranger.api().get(`/points/${plain.point}/files/archive`, { path: '/' }), 404, 'a stranger takes a tar');
  expectStatus(await listing(stranger, `/images/${plain.image}`), 404, 'a stranger lists the owner\'s image');
  expectStatus(await listing(friend, `/points/${plain.point}`), 404, 'not yet shared');

  await owner.cli.ok(['share', 'add', plain.point, '--to', friend.email]);
  const l = expectStatus(await listing(friend, `/points/${plain.point}`, { path: '/deep/a' }), 200, 'the recipient lists');
  assert.deepEqual(l.entries.map((e: Json) => e.name), ['b', 'mid.bin']);
  const r = await friend.api().get(`/points/${plain.point}/files/content`, { path: '/hello.txt' });
  expectStatus(r, 200, 'the recipient reads');
  assert.equal(r.text, 'hello, world\n');
  // The recipient's own image of the shared point: its files too.
  const img = (await friend.cli.ok(['image', 'create', '--chain', plain.point, '--name', 'from-friend'])).image.id;
  assert.equal(expectStatus(await listing(friend, `/images/${img}`), 200, 'the recipient\'s image').filesystem, 'ext4');
  expectStatus(await listing(owner, `/images/${img}`), 404, 'the owner does not see the recipient\'s image');

  await owner.cli.ok(['share', 'cancel', plain.point, '--to', friend.email]);
  expectStatus(await listing(friend, `/points/${plain.point}`), 404, 'the share ended');
  expectStatus(await listing(friend, `/images/${img}`), 200, 'the recipient\'s image stays readable');
});

test('several readers at once, on two disks: each gets its own bytes (libext2fs runs one call at a time for all)', async () => {
  const reads = ['big.bin', 'hello.txt', 'deep/a/mid.bin', 'sparse.bin', UNICODE].flatMap((rel) =>
    [plain.point, gpt.point].map(async (point) => {
      const r = await owner.api().get(`/points/${point}/files/content`, { path: `/${rel}` });
      expectStatus(r, 200, `${rel} of ${point}`);
      assert.ok(r.bytes.equals(await readFile(join(tree, rel))), `${rel} of ${point}: content`);
    }),
  );
  const tars = [plain.point, gpt.point].map(async (point) => expectStatus(await owner.api().get(`/points/${point}/files/archive`, { path: '/deep' }), 200, `tar of ${point}`));
  await Promise.all([...reads, ...tars, listing(owner, `/points/${plain.point}`, { path: '/deep/a' }).then((r) => expectStatus(r, 200, 'a listing meanwhile'))]);
});

test('a client that leaves in the middle of a tar or a file: the server stops it and answers the next requests', async () => {
  for (const [what, path] of [
    ['archive', '/'],
    ['content', '/big.bin'],
  ]) {
    const ac = new AbortController();
    const res = await fetch(owner.api().url(`/points/${plain.point}/files/${what}`, { path }), { headers: { authorization: `Bearer ${owner.cli.token}` }, signal: ac.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    assert.ok(!(await reader.read()).done, `the ${what} started`);
    ac.abort();
    await reader.closed.catch(() => undefined);
  }
  const r = await owner.api().get(`/points/${plain.point}/files/content`, { path: '/hello.txt' });
  expectStatus(r, 200, 'the next read');
  assert.equal(r.text, 'hello, world\n');
  expectStatus(await owner.api().get(`/points/${plain.point}/files/archive`, { path: '/deep' }), 200, 'the next tar');
});

test('an image: listed and read like its point', async () => {
  await assertMatchesTree(owner, `/images/${plain.image}`);
});

test('a folder as a tar: names, modes, times, symlinks and contents of the tree', async () => {
  const r = await owner.api().get(`/points/${plain.point}/files/archive`, { path: '/deep' });
  expectStatus(r, 200, 'tar of /deep');
  assert.equal(r.headers.get('content-type'), 'application/x-tar');
  const got = new Map<string, { type: string; mode: number; mtime: number; data: Buffer }>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (b: unknown) => void parts.push(b as Buffer));
      stream.on('end', () => {
        got.set(h.name, { type: h.type ?? 'file', mode: h.mode ?? 0, mtime: (h.mtime?.getTime() ?? 0) / 1000, data: Buffer.concat(parts) });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(r.bytes);
  await done;
  const expected = ['deep', ...(await walk(join(tree, 'deep'))).map((p) => `deep/${p}`)];
  assert.deepEqual([...got.keys()].sort(), expected.sort());
  for (const [name, e] of got) {
    const s = await lstat(join(tree, name));
    assert.equal(e.mode, s.mode & 0o7777, `${name}: mode`);
    assert.equal(e.mtime, Math.floor(s.mtimeMs / 1000), `${name}: mtime`);
    if (s.isFile()) assert.ok(e.data.equals(await readFile(join(tree, name))), `${name}: content`);
    else assert.equal(e.type, s.isDirectory() ? 'directory' : 'symlink');
  }
});

test('the CLI: files ls (table and --json), files get of a file, of a folder as a tree and as a tar', async () => {
  const ls = await owner.cli.ok(['files', 'ls', plain.point, '/deep/a']);
  assert.deepEqual(ls.entries.map((e: Json) => e.name), ['b', 'mid.bin']);
  const table = await owner.cli.run(['files', 'ls', plain.point], { json: false });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /lrwxrwxrwx .* link -> hello\.txt/);
  assert.match(table.stdout, /-rwxr-x--- .* script\.sh/);

  const out = join(dir, 'got');
  await mkdir(out);
  await owner.cli.ok(['files', 'get', plain.point, '/big.bin', '-o', join(out, 'big.bin')]);
  assert.ok((await readFile(join(out, 'big.bin'))).equals(await readFile(join(tree, 'big.bin'))));
  assert.equal(Math.floor((await lstat(join(out, 'big.bin'))).mtimeMs / 1000), Math.floor((await lstat(join(tree, 'big.bin'))).mtimeMs / 1000));

  await owner.cli.ok(['files', 'get', plain.image, '/', '-o', join(out, 'all')]);
  assert.deepEqual((await walk(join(out, 'all'))).filter((p) => !p.startsWith('lost+found')), await walk(tree));
  for (const rel of await walk(tree)) {
    const [a, b] = await Promise.all([lstat(join(tree, rel)), lstat(join(out, 'all', rel))]);
    assert.equal(b.mode, a.mode, `${rel}: mode`);
    assert.equal(Math.floor(b.mtimeMs / 1000), Math.floor(a.mtimeMs / 1000), `${rel}: mtime`);
    if (a.isFile()) assert.ok((await readFile(join(out, 'all', rel))).equals(await readFile(join(tree, rel))), `${rel}: content`);
    if (a.isSymbolicLink()) assert.equal(await readlink(join(out, 'all', rel)), await readlink(join(tree, rel)));
  }

  // The two names of one file stay one file.
  const [first, second] = await Promise.all([lstat(join(out, 'all', 'hello.txt')), lstat(join(out, 'all', 'deep/hard-hello.txt'))]);
  assert.equal(first.ino, second.ino, 'a hard link stays a hard link');
  assert.equal(first.nlink, 2);

  const t = await owner.cli.ok(['files', 'get', plain.point, '/deep', '--tar', '-o', join(out, 'deep.tar')]);
  assert.ok(t.downloaded.bytes > 70_000);
  assert.equal((await readFile(join(out, 'deep.tar'))).subarray(257, 262).toString('latin1'), 'ustar');

  const missing = await owner.cli.fails(['files', 'get', plain.point, '/nope', '-o', join(out, 'nope')], 4);
  assert.match(missing.stderr, /no file or folder \/nope/);
  const strangers = await stranger.cli.fails(['files', 'ls', plain.point], 4);
  assert.match(strangers.stderr, /Backup point .* was not found/);
});

// Its own disk: chunks read before are in the server's cache of decoded chunks, which a damaged copy in the store would not reach.
test('a damaged chunk under a file: a clear error naming the file and the chunk, not garbage', async () => {
  const own = join(dir, 'damaged-tree');
  await mkdir(own);
  const size = 16 * MiB;
  await writeFile(join(own, 'big.bin'), seededRandom('files-damaged').bytes(size));
  const disk = await makeExt4FromTree(join(dir, 'damaged.img'), own, 64);
  const vol = (await owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'damaged', '--disk', 'root:64M'])).resource.id;
  const point = (await owner.cli.ok(['backup', vol, '--disk', disk, '--full'])).point.id;
  // A place in the file well past the file system's own blocks (superblock, inode table, folders), so opening it still works.
  const at = 12 * MiB;
  const { block, blockSize } = await physicalBlockOf(disk, '/big.bin', at);
  const index = Math.floor((block * blockSize) / CHUNK);
  assert.ok(index >= 3, `the data at ${at} lies in chunk ${index}, past the metadata`);
  const digest = (await fetchManifest(owner, point, 'root')).chunks[index]!;
  await damageChunk(server.dataDir, digest);

  const r = await owner.api().get(`/points/${point}/files/content`, { path: '/big.bin' }, { headers: { range: `bytes=${at}-` } });
  expectStatus(r, 500, 'reading over a damaged chunk');
  assert.equal(r.body.error.code, 'chunk_damaged');
  assert.match(r.body.error.message, new RegExp(`^Reading /big\\.bin failed\\. Chunk ${digest} of backup point ${point} is damaged`));
  // From the start, the answer is under way when the damage is reached: the CLI sees it cut short and keeps nothing.
  const out = join(dir, 'damaged.bin');
  const cli = await owner.cli.fails(['files', 'get', point, '/big.bin', '-o', out], 1);
  assert.match(cli.stderr, /cut short|arrived/);
  await assert.rejects(lstat(out), { code: 'ENOENT' });
});
