import assert from 'node:assert/strict';
import { copyFile, open as openFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openMetadataStore } from '../../src/db/connect.js';
import { chunkFile, cliUser, damageChunk, fetchManifest, makeRawDisk, MiB, startRestartableServer, type CliUser } from '../helpers/cli.js';
import { filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { QingCloudClient } from '../helpers/qingcloud.js';
import { openS3Store, serverPrefix, serverStoreEnv, TEST_STORE } from '../helpers/s3.js';
import { runCli } from '../helpers/server.js';

// Encryption at rest (docs/formats.md): a server with a master key keeps chunk
// blobs, manifests and access key secrets sealed; damage is caught; keys rotate
// and old data is re-keyed online, resumably, until the old key can go.

let dir: string;
before(async () => {
  dir = await makeTempDir('cairn-e2e-enc-');
});
after(async () => {
  if (dir) await removeTempDir(dir);
});

const MARKER = 'CAIRN-PLAINTEXT-MARKER ';

/** A stored blob as it lies in the folder or the bucket. */
async function storedBlob(dataDir: string, digest: string): Promise<Buffer> {
  if (TEST_STORE !== 's3') return readFile(chunkFile(dataDir, digest));
  const store = await openS3Store(serverPrefix(dataDir));
  try {
    return (await store.get(digest))!;
  } finally {
    store.close();
  }
}

const keyIdOf = (blob: Buffer) => blob.toString('hex', 4, 8);

async function restoresTo(user: CliUser, point: string, expected: string): Promise<void> {
  const target = join(dir, `restore-${point}.img`);
  await user.cli.ok(['restore', point, '--to', target], { timeoutMs: 120_000 });
  assert.ok(await filesEqual(target, expected), `point ${point} does not restore to its source`);
}

test('with a master key: chunks, manifests and access key secrets are sealed, restores are bit-exact, damage is refused, keys rotate and rekey resumes', async () => {
  const keyDir = await makeTempDir('cairn-e2e-keys-');
  const keyFile = join(keyDir, 'master.key');
  const made = await runCli(['admin', 'master-key', 'new', keyFile]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600, 'the key file is the owner\'s alone');
  const firstId = /master key ([0-9a-f]{8}) written/.exec(made.stdout)![1]!;

  const server = await startRestartableServer({ args: ['--master-key-file', keyFile] });
  const admin = (env: NodeJS.ProcessEnv = {}) => ({ ...(TEST_STORE === 's3' ? serverStoreEnv(server.dataDir) : {}), ...env });
  const rekey = (...more: string[]) => runCli(['admin', 'rekey', '--master-key-file', keyFile, '--data-dir', server.dataDir, '--database', server.database.url, ...more], { env: admin(), timeoutMs: 120_000 });
  const logs: string[] = [];
  try {
    if (server.database.engine === 'sqlite') assert.equal((await stat(server.database.url)).mode & 0o777, 0o600, 'cairn.db is the owner\'s alone');

    const user = await cliUser(server.url, dir, 'enc');
    const vol = (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'enc', '--disk', 'root:16M'])).resource.id;
    const disk = await makeRawDisk(join(dir, 'enc.img'), 16 * MiB, 8 * MiB, 'enc');
    // A compressible chunk: zstd keeps a first copy of the text, which a plain blob would show.
    const fh = await openFile(disk, 'r+');
    await fh.write(Buffer.from(MARKER.repeat(Math.floor(4 * MiB / MARKER.length))), 0, undefined, 8 * MiB);
    await fh.close();
    const first = join(dir, 'enc-first.img');
    await copyFile(disk, first);
    const point = (await user.cli.ok(['backup', vol, '--disk', disk])).point.id;
    await restoresTo(user, point, first);

    const chunks = [...new Set((await fetchManifest(user, point, 'root')).chunks.filter((d): d is string => d !== null))];
    assert.equal(chunks.length, 3);
    const randomStretch = (await readFile(disk)).subarray(4 * MiB + 100, 4 * MiB + 164);
    for (const digest of chunks) {
      const blob = await storedBlob(server.dataDir, digest);
      assert.equal(blob.toString('latin1', 0, 3), 'CRE', `chunk ${digest} is stored sealed`);
      assert.equal(keyIdOf(blob), firstId);
      assert.equal(blob.indexOf(MARKER), -1, 'no plaintext of the compressible chunk is visible');
      assert.equal(blob.indexOf(randomStretch), -1, 'no plaintext of the random chunks is visible');
      assert.equal(blob.indexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), -1, 'no zstd frame is visible');
    }

    const access = await user.cli.ok(['access-key', 'create', '--name', 'sealed']);
    const meta = await openMetadataStore(server.database.url);
    try {
      for (const m of await meta.db.selectFrom('manifests').select('body').execute()) assert.equal(m.body.toString('latin1', 0, 3), 'CRE', 'manifests are sealed in the database');
      const row = await meta.db.selectFrom('access_keys').select('secret_sealed').where('id', '=', access.access_key_id).executeTakeFirstOrThrow();
      assert.match(row.secret_sealed, /^aes256gcm:/);
      assert.ok(!row.secret_sealed.includes(access.secret_access_key));
    } finally {
      await meta.close();
    }
    const qc = () => new QingCloudClient(server.url, access.access_key_id, access.secret_access_key);
    await qc().ok('DescribeSnapshots');

    // One flipped byte in a stored blob: verify names it, restore refuses, naming it.
    const victim = chunks[1]!;
    await damageChunk(server.dataDir, victim);
    const verify = await user.cli.run(['verify', '--point', point]);
    assert.equal(verify.code, 6, `verify of a damaged chunk must exit 6:\n${verify.stderr}${verify.stdout}`);
    assert.deepEqual(verify.json.report.damaged.map((d: { digest: string }) => d.digest), [victim]);
    assert.match(verify.json.report.damaged[0].problem, /does not open: its authentication tag does not match/);
    const refused = await user.cli.run(['restore', point, '--to', join(dir, 'damaged.img')]);
    assert.notEqual(refused.code, 0, 'a restore of a damaged point must fail');
    assert.match(refused.stderr, new RegExp(`${victim}.*damaged`), refused.stderr);
    await damageChunk(server.dataDir, victim); // the same bit flipped back
    assert.equal((await user.cli.run(['verify', '--point', point])).code, 0);

    // A new key: new data is sealed under it; old data still opens under the old one.
    const rotated = await runCli(['admin', 'master-key', 'new', keyFile]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const secondId = /master key ([0-9a-f]{8}) written/.exec(rotated.stdout)![1]!;
    logs.push(server.current.output());
    await server.current.kill('SIGTERM');
    await server.restart();
    user.cli.server = server.url;
    await makeRawDisk(disk, 16 * MiB, 4 * MiB, 'enc-second');
    const second = join(dir, 'enc-second.img');
    await copyFile(disk, second);
    const point2 = (await user.cli.ok(['backup', vol, '--disk', disk, '--full'])).point.id;
    const fresh = (await fetchManifest(user, point2, 'root')).chunks.find((d): d is string => d !== null && !chunks.includes(d))!;
    assert.equal(keyIdOf(await storedBlob(server.dataDir, fresh)), secondId, 'new chunks are sealed under the new key');
    await restoresTo(user, point, first);

    // Re-keying, stopped after two of the four chunks (as a kill would), then resumed while the server runs.
    const counts = (out: string) => {
      const m = /chunks: (\d+) re-keyed, (\d+) already were/.exec(out);
      assert.ok(m, out);
      return [Number(m[1]), Number(m[2])] as const;
    };
    const underOld = async () => (await Promise.all(chunks.map(async (d) => keyIdOf(await storedBlob(server.dataDir, d))))).filter((id) => id === firstId).length;
    const part = await rekey('--max-chunks', '2');
    assert.equal(part.code, 0, part.stderr);
    assert.match(part.stdout, new RegExp(`^stopped \\(run again to go on\\): under master key ${secondId} now`));
    const [movedFirst, currentFirst] = counts(part.stdout);
    assert.equal(movedFirst + currentFirst, 2);
    assert.equal(await underOld(), 3 - movedFirst, 'what the first run moved is under the new key, the rest is not yet');
    assert.ok(movedFirst >= 1);
    const rest = await rekey();
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stdout, /^done: .*0 missing, 0 damaged; manifests: 1 re-keyed, 1 already were; secrets: 1 re-keyed/);
    const [movedRest, currentRest] = counts(rest.stdout);
    assert.deepEqual([movedFirst + movedRest, currentFirst + currentRest], [3, 1], 'each chunk visited once over both runs');
    assert.equal(await underOld(), 0);
    const again = await rekey();
    assert.match(again.stdout, /^done: .*chunks: 0 re-keyed, 0 already were/, 'a finished walk is not done again');

    // The old key goes: everything still opens.
    const text = await readFile(keyFile, 'utf8');
    await writeFile(keyFile, text.split('\n').filter((l) => !l.includes(` ${firstId} `)).join('\n'));
    logs.push(server.current.output());
    await server.current.kill('SIGTERM');
    await server.restart();
    user.cli.server = server.url;
    await restoresTo(user, point, first);
    await restoresTo(user, point2, second);
    assert.equal((await user.cli.run(['verify', '--point', point])).code, 0);
    await qc().ok('DescribeSnapshots');

    // Without the key file the server cannot read what is sealed, and says so.
    logs.push(server.current.output());
    await server.current.kill('SIGTERM');
    const keyless = await runCli(['serve', '--port', '0', '--data-dir', server.dataDir, '--database', server.database.url, '--master-key-file', join(keyDir, 'absent.key')], { env: admin(), timeoutMs: 60_000 });
    assert.equal(keyless.code, 1);
    assert.match(keyless.stderr, /The master key file .*absent\.key cannot be read .*cairn admin master-key new/);
    await server.restart();
    user.cli.server = server.url;

    // Nothing secret reached the servers' logs: not the access key's secret, nor any master key.
    logs.push(server.current.output(), keyless.stdout, keyless.stderr);
    const secrets = [access.secret_access_key, ...text.split('\n').filter((l) => l.startsWith('cairn-master-key')).map((l) => l.split(' ')[3]!)];
    for (const secret of secrets) assert.ok(!logs.some((l) => l.includes(secret)), 'a secret reached a log line');
  } finally {
    await server.close();
    await removeTempDir(keyDir);
  }
});

test('a store made before encryption keeps working under a master key, and rekey seals its chunks, manifests and secrets in place', async () => {
  const keyDir = await makeTempDir('cairn-e2e-keys-');
  const keyFile = join(keyDir, 'master.key');
  let args: string[] = [];
  // Read at each start: the first without a key, the next ones with it.
  const server = await startRestartableServer({
    get args() {
      return args;
    },
  });
  try {
    const user = await cliUser(server.url, dir, 'plain');
    const vol = (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'plain', '--disk', 'root:8M'])).resource.id;
    const disk = await makeRawDisk(join(dir, 'plain.img'), 8 * MiB, 8 * MiB, 'plain');
    const point = (await user.cli.ok(['backup', vol, '--disk', disk])).point.id;
    const access = await user.cli.ok(['access-key', 'create', '--name', 'plain']);
    const chunks = [...new Set((await fetchManifest(user, point, 'root')).chunks.filter((d): d is string => d !== null))];
    for (const d of chunks) assert.equal((await storedBlob(server.dataDir, d)).toString('latin1', 0, 3), 'CRN', 'without a key, blobs are stored as before');

    assert.equal((await runCli(['admin', 'master-key', 'new', keyFile])).code, 0);
    args = ['--master-key-file', keyFile];
    await server.current.kill('SIGTERM');
    await server.restart();
    user.cli.server = server.url;
    await restoresTo(user, point, disk);
    assert.equal((await user.cli.run(['verify', '--point', point])).code, 0, 'plain blobs verify under a key');
    await new QingCloudClient(server.url, access.access_key_id, access.secret_access_key).ok('DescribeSnapshots');

    const r = await runCli(['admin', 'rekey', '--master-key-file', keyFile, '--data-dir', server.dataDir, '--database', server.database.url], {
      env: TEST_STORE === 's3' ? serverStoreEnv(server.dataDir) : {},
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^done: .*chunks: 2 re-keyed, 0 already were, 0 missing, 0 damaged; manifests: 1 re-keyed, 0 already were; secrets: 1 re-keyed/);
    for (const d of chunks) assert.equal((await storedBlob(server.dataDir, d)).toString('latin1', 0, 3), 'CRE', 'sealed in place');
    const meta = await openMetadataStore(server.database.url);
    try {
      assert.equal((await meta.db.selectFrom('manifests').select('body').executeTakeFirstOrThrow()).body.toString('latin1', 0, 3), 'CRE');
      assert.match((await meta.db.selectFrom('access_keys').select('secret_sealed').executeTakeFirstOrThrow()).secret_sealed, /^aes256gcm:/);
    } finally {
      await meta.close();
    }
    await restoresTo(user, point, disk);
    await new QingCloudClient(server.url, access.access_key_id, access.secret_access_key).ok('DescribeSnapshots');

    // A changed byte in a sealed manifest in the database: the restore is refused, naming it.
    const flipManifest = async () => {
      const db = await openMetadataStore(server.database.url);
      try {
        const m = await db.db.selectFrom('manifests').select(['digest', 'body']).executeTakeFirstOrThrow();
        const body = Buffer.from(m.body);
        body[body.length >> 1]! ^= 0x01;
        await db.db.updateTable('manifests').set({ body }).where('digest', '=', m.digest).execute();
        return m.digest;
      } finally {
        await db.close();
      }
    };
    const manifest = await flipManifest();
    const refused = await user.cli.run(['restore', point, '--to', join(dir, 'manifest-damaged.img')]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`Manifest ${manifest} is damaged in the metadata store`), refused.stderr);
    await flipManifest();
    await restoresTo(user, point, disk);
  } finally {
    await server.close();
    await removeTempDir(keyDir);
  }
});
