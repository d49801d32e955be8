import assert from 'node:assert/strict';
import { copyFile, mkdtemp, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliUser, fetchManifest, fillRandom, makeRawDisk, MiB, type CliUser } from '../helpers/cli.js';
import { filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectStatus, type Json } from '../helpers/http.js';
import { emptyPrefix, needS3, rewriteServerChunk, S3_ENDPOINT, serverObjects, serverPrefix, serverStoreEnv, startSpareGateway } from '../helpers/s3.js';
import { runCli, startServer, type TestServer } from '../helpers/server.js';

// Cairn on a real Ceph RGW (started by the test command): what only an object
// store can do to it — a bucket that is missing or refuses the credentials, chunks
// deleted or cut short behind its back, a gateway that goes away mid-backup.
// The rest of the end-to-end suite runs on RGW too with `npm test -- --store s3`.

let dir: string;
const prefixes: string[] = [];

before(async () => {
  dir = await makeTempDir('cairn-e2e-s3-');
});

after(async () => {
  try {
    for (const p of prefixes) await emptyPrefix(p);
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

/** A server whose chunks are in the bucket, under a prefix of its own. */
async function s3Server(tag: string, endpoint?: string): Promise<TestServer> {
  const dataDir = await mkdtemp(join(dir, `${tag}-data-`));
  prefixes.push(serverPrefix(dataDir));
  return startServer({ dataDir, env: serverStoreEnv(dataDir, endpoint) });
}

async function restoresTo(user: CliUser, point: string, expected: string): Promise<void> {
  const target = join(dir, `restore-${point}.img`);
  await user.cli.ok(['restore', point, '--to', target], { timeoutMs: 120_000 });
  assert.ok(await filesEqual(target, expected), `point ${point} does not restore to its source`);
}

test('cairn serve stops at start on a bucket that does not exist or on credentials the store refuses, saying which and what to do', async (t) => {
  if (!needS3(t)) return;
  const dataDir = join(dir, 'refused');
  const serve = (store: string, env: NodeJS.ProcessEnv = {}) =>
    runCli(['serve', '--port', '0', '--data-dir', dataDir, '--chunk-store', store, '--s3-endpoint', S3_ENDPOINT!], { env, timeoutMs: 60_000 });

  const missing = await serve('s3://cairn-no-such-bucket/x');
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /The S3 bucket "cairn-no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+: create it .*--chunk-store/);
  assert.doesNotMatch(missing.stdout, /listening/);

  const refused = await serve('s3://cairn-test/x', { AWS_ACCESS_KEY_ID: 'not-a-key-of-this-store', AWS_SECRET_ACCESS_KEY: 'a-secret-that-must-not-show' });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /refused these credentials for bucket "cairn-test" \(HTTP 403\): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  assert.doesNotMatch(refused.stderr + refused.stdout, /a-secret-that-must-not-show/);

  const unreachable = await runCli(['serve', '--port', '0', '--data-dir', dataDir, '--chunk-store', 's3://cairn-test', '--s3-endpoint', 'http://127.0.0.1:9'], { timeoutMs: 60_000 });
  assert.equal(unreachable.code, 1, unreachable.stderr);
  assert.match(unreachable.stderr, /at http:\/\/127\.0\.0\.1:9\).*ECONNREFUSED.*check that the store is up and reachable at --s3-endpoint/);
});

test('a chunk deleted or cut short in the bucket: verify names it and its point; a restore of the point and an export of its image fail naming it', async (t) => {
  if (!needS3(t)) return;
  const server = await s3Server('damaged');
  try {
    const user = await cliUser(server.url, dir, 'damaged');
    const vol = (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'damaged', '--disk', 'root:16M'])).resource.id;
    const disk = await makeRawDisk(join(dir, 'damaged.img'), 16 * MiB, 16 * MiB, 'damaged');
    const point = (await user.cli.ok(['backup', vol, '--disk', disk])).point.id;
    assert.equal((await user.cli.run(['verify', '--point', point])).code, 0, 'the point verifies before the damage');

    const image = (await user.cli.ok(['image', 'create', '--from', point, '--name', 'damaged'])).image.id;
    const chunks = (await fetchManifest(user, point, 'root')).chunks.filter((d): d is string => d !== null);
    assert.equal(chunks.length, 4);
    const [deleted, truncated] = [chunks[1]!, chunks[2]!];
    await rewriteServerChunk(server.dataDir, deleted, () => null);
    await rewriteServerChunk(server.dataDir, truncated, (blob) => blob.subarray(0, blob.length >> 1));

    const verify = await user.cli.run(['verify', '--point', point]);
    assert.equal(verify.code, 6, `verify of damaged chunks must exit 6:\n${verify.stderr}${verify.stdout}`);
    const damaged = new Map<string, Json>(verify.json.report.damaged.map((d: Json) => [d.digest, d]));
    assert.deepEqual([...damaged.keys()].sort(), [deleted, truncated].sort());
    assert.match(damaged.get(deleted)!.problem, /missing from the chunk store/);
    assert.deepEqual(damaged.get(deleted)!.points, [point]);
    assert.deepEqual(damaged.get(truncated)!.points, [point]);

    const restore = await user.cli.run(['restore', point, '--to', join(dir, 'damaged-restore.img')]);
    assert.notEqual(restore.code, 0, 'a restore of a damaged point must fail');
    assert.match(restore.stderr, new RegExp(`${deleted}|${truncated}`), `the failure names the chunk:\n${restore.stderr}`);

    // The export is refused before its first byte, naming the missing chunk and the image; nothing is written.
    const out = join(dir, 'damaged-export.img');
    const exported = await user.cli.run(['image', 'export', image, '-o', out]);
    assert.notEqual(exported.code, 0, 'an export of an image with a chunk gone must fail');
    assert.match(exported.stderr, new RegExp(`Chunk ${deleted} of image ${image} is missing from the chunk store`), exported.stderr);
    await assert.rejects(stat(out), { code: 'ENOENT' });
    // A range that needs only the cut-short chunk is refused too, naming it; one of sound chunks is served.
    const api = user.api();
    const cut = (await api.request('GET', `/api/v1/images/${image}/export`, undefined, { headers: { range: `bytes=${8 * MiB}-${8 * MiB + 99}` } }));
    assert.equal(cut.status, 500, cut.text);
    assert.match(cut.text, new RegExp(`Chunk ${truncated} of image ${image} is damaged`));
    const sound = await api.request('GET', `/api/v1/images/${image}/export`, undefined, { headers: { range: 'bytes=0-99' } });
    assert.equal(sound.status, 206, sound.text);
  } finally {
    await server.stop();
  }
});

test('RGW stopped mid-backup and started again: a committed point or a clearly failed backup, never a half point; every point restores bit-exact', async (t) => {
  if (!needS3(t)) return;
  // A gateway of its own: taking down the one other test files use would fail them.
  const gateway = await startSpareGateway();
  const server = await s3Server('outage', gateway.endpoint);
  try {
    const user = await cliUser(server.url, dir, 'outage');
    const vol = (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'outage', '--disk', 'root:96M'])).resource.id;
    const disk = await makeRawDisk(join(dir, 'outage.img'), 96 * MiB, 8 * MiB, 'outage-base');
    const base = (await user.cli.ok(['backup', vol, '--disk', disk])).point;
    const baseSnapshot = join(dir, 'outage-base.img');
    await copyFile(disk, baseSnapshot);
    await fillRandom(disk, 8 * MiB, 88 * MiB, 'outage-rest');

    const before = (await serverObjects(server.dataDir)).size;
    const proc = user.cli.spawn(['backup', vol, '--disk', disk]);
    // The outage starts once the backup has stored chunks of its own.
    for (let i = 0; i < 600 && (await serverObjects(server.dataDir)).size <= before && proc.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 20));
    await gateway.restart(2_000);
    const exit = await proc.exited;
    t.diagnostic(exit.code === 0 ? 'the backup rode out the outage on retries' : `the backup failed: ${exit.stderr.trim()}`);

    const chain = expectStatus(await user.api().get(`/chains/${base.id}`), 200).chain;
    const points: Json[] = chain.points;
    for (const p of points) assert.equal(p.status, 'available', `point ${p.id} is ${p.status}`);
    if (exit.code === 0) {
      const next = JSON.parse(exit.stdout).point;
      assert.deepEqual(points.map((p) => p.id).sort(), [base.id, next.id].sort(), 'the retried backup committed one point');
      await restoresTo(user, next.id, disk);
    } else {
      assert.match(exit.stderr, /S3 chunk store|chunk store|storing chunk/i, `the failure says what failed:\n${exit.stderr}`);
      assert.deepEqual(points.map((p) => p.id), [base.id], 'a failed backup leaves no point');
      // The gateway is back: the next backup works.
      const next = (await user.cli.ok(['backup', vol, '--disk', disk], { timeoutMs: 120_000 })).point;
      await restoresTo(user, next.id, disk);
    }
    await restoresTo(user, base.id, baseSnapshot);
    assert.equal((await user.cli.run(['verify', '--point', base.id])).code, 0);
  } finally {
    await server.stop();
    await gateway.stop();
  }
});
