import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheDir, FingerprintCache, type DiskKey, type FingerprintRecord } from '../../src/cli/fingerprint-cache.js';
import { newFingerprintSecret } from '../../src/engine/fingerprint.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-fingerprints-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key: DiskKey = { server: 'http://127.0.0.1:8080', resourceId: 'vol-aaaaaaaa', disk: 'root' };
const manifestDigest = 'd'.repeat(64);

function record(pointId: string): FingerprintRecord {
  // The top bits set too, so that both halves of the 128-bit value are kept.
  return { pointId, manifestDigest, secret: newFingerprintSecret(), fingerprints: [(1n << 127n) | 5n, null, 0xffff_ffff_ffff_ffff_ffff_ffff_ffff_ffffn, 42n] };
}

describe('cacheDir', () => {
  it('prefers CAIRN_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    assert.equal(cacheDir({ CAIRN_CACHE_DIR: '/c', XDG_CACHE_HOME: '/xdg', HOME: '/home/a' }), '/c');
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/xdg', HOME: '/home/a' }), join('/xdg', 'cairn'));
    assert.equal(cacheDir({ XDG_CACHE_HOME: '', HOME: '/home/a' }), join('/home/a', '.cache', 'cairn'));
  });
});

describe('FingerprintCache', () => {
  it('gives back what it saved, for that point and manifest only, readable by its owner only', async () => {
    const root = join(dir, 'roundtrip');
    const cache = new FingerprintCache(root);
    const saved = record('ss-11111111');
    await cache.save(key, saved);
    assert.deepEqual(await cache.load(key, 'ss-11111111', manifestDigest), saved);
    assert.equal(await cache.load(key, 'ss-22222222', manifestDigest), undefined, 'made for another point');
    assert.equal(await cache.load(key, 'ss-11111111', 'e'.repeat(64)), undefined, 'made for another manifest');
    assert.equal(await cache.load({ ...key, disk: 'data' }, 'ss-11111111', manifestDigest), undefined, 'another disk');
    assert.equal(await cache.load({ ...key, server: 'https://elsewhere' }, 'ss-11111111', manifestDigest), undefined, 'another server');

    const [file, ...rest] = await readdir(join(root, 'fingerprints'));
    assert.deepEqual(rest, [], 'one file per disk, no temporary file left');
    assert.equal((await stat(join(root, 'fingerprints', file!))).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'fingerprints'))).mode & 0o777, 0o700);

    const next = record('ss-22222222');
    await cache.save(key, next);
    assert.deepEqual(await cache.load(key, 'ss-22222222', manifestDigest), next, 'a newer point replaces the record');
    assert.equal(await cache.load(key, 'ss-11111111', manifestDigest), undefined);
  });

  it('ignores a record that is damaged, cut short or of another format', async () => {
    const root = join(dir, 'damaged');
    const cache = new FingerprintCache(root);
    await cache.save(key, record('ss-33333333'));
    const [name] = await readdir(join(root, 'fingerprints'));
    const path = join(root, 'fingerprints', name!);
    const whole = await readFile(path);
    for (const bytes of [whole.subarray(0, whole.length - 1), Buffer.concat([whole, Buffer.alloc(16)]), Buffer.from('not a record'), Buffer.from(whole.toString('latin1').replace('"secret":"', '"secret":"zz'), 'latin1'), Buffer.alloc(0)]) {
      await writeFile(path, bytes);
      assert.equal(await cache.load(key, 'ss-33333333', manifestDigest), undefined);
    }
    assert.equal(await new FingerprintCache(join(dir, 'nothing-here')).load(key, 'ss-33333333', manifestDigest), undefined);
  });
});
