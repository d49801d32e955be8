import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cliUser,
  fillRandom,
  makeRawDisk,
  MiB,
  startRestartableServer,
  storedChunks,
  until,
  type CliProcess,
  type CliUser,
  type RestartableServer,
} from '../helpers/cli.js';
import { filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectStatus, type Json } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

// A backup interrupted by the death of its client or of the server leaves no
// half point; its job fails with a reason; the next backup works.
//
// 256 MiB of incompressible data takes a few seconds to send, long enough to be
// interrupted mid-way: the kill comes once the server has stored the first chunks.

const DISK = 256 * MiB;
const BASE = 16 * MiB;
// Short, so that abandonment is noticed within a test, yet long enough that a client
// stalled for a couple of seconds on a loaded test machine is not taken for a dead one.
const IDLE_SECONDS = 4;

let dir: string;

before(async () => {
  dir = await makeTempDir('cairn-e2e-interrupt-');
});

after(async () => {
  try {
    await clientCase.server?.stop();
    await serverCase.server?.close();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

interface Scenario {
  user: CliUser;
  vol: string;
  disk: string;
  base: Json;
  baseSnapshot: string;
}

/** A volume whose first backup covers only 16 MiB of data; then the rest of the disk fills up. */
async function prepare(user: CliUser, tag: string): Promise<Scenario> {
  const vol = (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', tag, '--disk', `root:${DISK / MiB}M`])).resource.id;
  const disk = await makeRawDisk(join(dir, `${tag}.img`), DISK, BASE, `${tag}-base`);
  const base = (await user.cli.ok(['backup', vol, '--disk', disk])).point;
  const baseSnapshot = join(dir, `${tag}-base.img`);
  await copyFile(disk, baseSnapshot);
  await fillRandom(disk, BASE, DISK - BASE, `${tag}-rest`);
  return { user, vol, disk, base, baseSnapshot };
}

/** Starts the big backup and resolves once its job is working and the server has stored some of its chunks. */
async function startBigBackup(s: Scenario, dataDir: string): Promise<{ proc: CliProcess; job: Json }> {
  const chunksBefore = (await storedChunks(dataDir)).size;
  const proc = s.user.cli.spawn(['backup', s.vol, '--disk', s.disk]);
  try {
    const job = await until('the backup job to be working', async () => {
      const jobs = expectStatus(await s.user.api().get('/jobs', { resource_id: s.vol, status: 'working' }), 200).items;
      return jobs[0];
    }, 30_000, 50);
    await until('the first chunks of the backup to be stored', async () => (await storedChunks(dataDir)).size > chunksBefore, 30_000, 20);
    return { proc, job };
  } catch (err) {
    await proc.kill('SIGKILL');
    throw err;
  }
}

async function assertOnlyBase(s: Scenario, job: Json, what: string): Promise<void> {
  const chains = expectStatus(await s.user.api().get('/chains', { resource_id: s.vol }), 200);
  assert.deepEqual(
    chains.items.map((c: Json) => [c.id, c.point_count, c.head_point_id]),
    [[s.base.id, 1, s.base.id]],
    `${what}: no new point may appear`,
  );
  const chain = expectStatus(await s.user.api().get(`/chains/${s.base.id}`), 200).chain;
  assert.deepEqual(
    chain.points.map((p: Json) => [p.id, p.status]),
    [[s.base.id, 'available']],
  );
  // The interrupted upload's would-be point ID names nothing.
  assert.equal((await s.user.api().get(`/points/${job.target_id}`)).status, 404, `${what}: the half point ${job.target_id} is visible`);
}

async function waitForFailure(s: Scenario, jobId: string): Promise<Json> {
  return until(
    `job ${jobId} to fail`,
    async () => {
      const job = expectStatus(await s.user.api().get(`/jobs/${jobId}`), 200).job;
      assert.notEqual(job.status, 'successful', `job ${jobId} succeeded: the interruption came too late`);
      return job.status === 'failed' ? job : null;
    },
    (IDLE_SECONDS + 15) * 1000,
    250,
  );
}

async function restoresTo(s: Scenario, point: string, expected: string): Promise<void> {
  const target = join(dir, `restore-${point}.img`);
  await s.user.cli.ok(['restore', point, '--to', target]);
  assert.ok(await filesEqual(target, expected), `point ${point} does not restore to its source`);
}

// --- (a) the client dies

let clientCase: { server?: TestServer; s?: Scenario; job?: Json; killedAt?: number } = {};

test('a backup client killed mid-upload leaves no new point', async () => {
  const server = await startServer({ args: ['--upload-idle-seconds', String(IDLE_SECONDS)] });
  clientCase.server = server;
  const user = await cliUser(server.url, dir, 'killed-client');
  const s = await prepare(user, 'client');
  const { proc, job } = await startBigBackup(s, server.dataDir);
  const exit = await proc.kill('SIGKILL');
  assert.equal(exit.signal, 'SIGKILL');
  clientCase = { ...clientCase, s, job, killedAt: Date.now() };
  assert.equal(expectStatus(await user.api().get(`/jobs/${job.id}`), 200).job.status, 'working', 'the backup was still going when it was killed');
  await assertOnlyBase(s, job, 'right after the kill');
});

test('the killed client\'s backup job fails with a reason once the upload has been idle for --upload-idle-seconds', async () => {
  const { s, job, killedAt } = clientCase;
  assert.ok(s && job && killedAt, 'needs the previous test');
  const failed = await waitForFailure(s, job.id);
  assert.ok(Date.now() - killedAt >= (IDLE_SECONDS - 1) * 1000, 'the job is failed only once the upload was idle for its timeout');
  assert.match(failed.error, /client.*(killed|disconnected|stopped)/i);
  assert.equal(failed.action, 'backup');
  const upload = expectStatus(await s.user.api().get(`/uploads/${job.target_id}`), 200).upload;
  assert.equal(upload.status, 'aborted');
  await assertOnlyBase(s, job, 'after the timeout');
  const shown = await s.user.cli.run(['job', 'show', job.id], { json: false });
  assert.match(shown.stdout, /Status:\s+failed/);
});

test('after a killed client, the next backup succeeds and both points restore identically', async () => {
  const { server, s } = clientCase;
  assert.ok(server && s, 'needs the previous tests');
  try {
    const next = (await s.user.cli.ok(['backup', s.vol, '--disk', s.disk], { timeoutMs: 120_000 })).point;
    assert.equal(next.type, 'incremental');
    assert.equal(next.parent_id, s.base.id);
    // The chunks the killed client had sent are the account's already: they are not sent twice.
    assert.ok(next.stored_bytes < DISK - BASE, `the retry stored ${next.stored_bytes} bytes`);
    await restoresTo(s, next.id, s.disk);
    await restoresTo(s, s.base.id, s.baseSnapshot);
  } finally {
    await server.stop();
  }
});

// --- (b) the server dies

let serverCase: { server?: RestartableServer; s?: Scenario; job?: Json } = {};

test('a server killed mid-backup: the client fails clearly, and after a restart no half point is visible', async () => {
  // A short housekeeping lease: the restarted server takes housekeeping over from the killed one in seconds, not 30.
  const server = await startRestartableServer({ args: ['--upload-idle-seconds', String(IDLE_SECONDS), '--housekeeping-lease-seconds', '2'] });
  serverCase.server = server;
  const user = await cliUser(server.url, dir, 'killed-server');
  const s = await prepare(user, 'server');
  const { proc, job } = await startBigBackup(s, server.dataDir);
  serverCase = { ...serverCase, s, job };
  try {
    const killed = await server.current.kill('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    // The client finds the server gone and says so, with a failing exit.
    const exit = await Promise.race([
      proc.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the backup client hung after the server died')), 60_000)),
    ]);
    assert.notEqual(exit.code, 0);
    assert.match(exit.stderr, /cannot reach the Cairn server/);
    assert.equal(exit.stdout, '', 'no point was reported');
  } finally {
    await proc.kill('SIGKILL');
  }

  await server.restart();
  user.cli.server = server.url;
  await assertOnlyBase(s, job, 'after the restart');
});

test('after the restart the backup job left working is failed, and every available point restores', async () => {
  const { s, job } = serverCase;
  assert.ok(s && job, 'needs the previous test');
  const failed = await waitForFailure(s, job.id);
  assert.match(failed.error, /client|stopped|killed|disconnected/i);
  await assertOnlyBase(s, job, 'once the job failed');
  const points = expectStatus(await s.user.api().get(`/chains/${s.base.id}`), 200).chain.points.filter((p: Json) => p.status === 'available');
  assert.deepEqual(
    points.map((p: Json) => p.id),
    [s.base.id],
  );
  for (const p of points) await restoresTo(s, p.id, s.baseSnapshot);
});

test('after the restart a new backup succeeds and restores identically', async () => {
  const { server, s } = serverCase;
  assert.ok(server && s, 'needs the previous tests');
  const next = (await s.user.cli.ok(['backup', s.vol, '--disk', s.disk], { timeoutMs: 120_000 })).point;
  assert.equal(next.parent_id, s.base.id);
  await restoresTo(s, next.id, s.disk);
});

test(
  'an upload that keeps sending requests stays open past a short --upload-idle-seconds',
  async () => {
    const server = await startServer({ args: ['--upload-idle-seconds', '2'] });
    try {
      const user = await cliUser(server.url, dir, 'short-idle');
      const vol = (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'busy', '--disk', 'root:16M'])).resource.id;
      const upload = expectStatus(await user.api().post('/uploads', { resource_id: vol, type: 'full', disks: [{ name: 'root', size: 16 * MiB }] }), 201).upload;
      const opened = Date.now();
      // A client busy reading and sending: a request every half second, for twice the idle window.
      while (Date.now() - opened < 4_000) {
        await sleep(500);
        const r = await user.api().post(`/uploads/${upload.id}/missing`, { digests: [] });
        assert.equal(r.status, 200, `${Date.now() - opened} ms after opening, an active upload was refused: ${r.text}`);
      }
      expectStatus(await user.api().delete(`/uploads/${upload.id}`), 204);
    } finally {
      await server.stop();
    }
  },
);
