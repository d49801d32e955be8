import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import { DIRECT_IO_ALIGNMENT } from '../../src/io/disk-io.js';
import { EncryptingChunkStore } from '../../src/store/encrypting-store.js';
import { LocalChunkStore } from '../../src/store/local-store.js';
import { addMasterKey, MasterKeys, parseMasterKeys, readMasterKeys } from '../../src/store/master-key.js';
import { isSealed, open, seal, SEAL_OVERHEAD, SealError, sealedKeyId } from '../../src/store/sealed-blob.js';
import { makeTempDir, removeTempDir, seededRandom } from '../helpers/disk-images.js';
import { emptyPrefix, openS3Store, S3_ENDPOINT, uniquePrefix } from '../helpers/s3.js';
import { chunkStoreContract, keyOf } from './chunk-store-contract.js';

const MiB = 1024 * 1024;
const keyA = new MasterKeys([{ id: 'aaaaaaaa', key: seededRandom('master-a').bytes(32) }]);
const keyB = new MasterKeys([{ id: 'bbbbbbbb', key: seededRandom('master-b').bytes(32) }]);
const slots = new BufferRecycler(4 * MiB + 4096, { align: DIRECT_IO_ALIGNMENT, shared: true });

chunkStoreContract(
  'encrypting store over the folder',
  async () => {
    const dir = await makeTempDir();
    return { store: new EncryptingChunkStore(new LocalChunkStore(join(dir, 'chunks')), keyA, slots), dispose: () => removeTempDir(dir) };
  },
  SEAL_OVERHEAD,
);

chunkStoreContract(
  'encrypting store over Ceph RGW',
  async () => {
    if (!S3_ENDPOINT) return null;
    const prefix = uniquePrefix('sealed');
    const inner = await openS3Store(prefix);
    return {
      store: new EncryptingChunkStore(inner, keyA, slots),
      async dispose() {
        inner.close();
        await emptyPrefix(prefix);
      },
    };
  },
  SEAL_OVERHEAD,
);

describe('sealed blobs (AES-256-GCM under keys derived from the master key)', () => {
  const plain = seededRandom('plain').bytes(3 * MiB + 17);
  const name = keyOf(plain, 'sealed');

  it('round-trips, opening in place, with a header naming the key and no plaintext visible', () => {
    const sealed = seal(keyA, 'chunk', name, plain);
    assert.equal(sealed.length, plain.length + SEAL_OVERHEAD);
    assert.ok(isSealed(sealed));
    assert.equal(sealed.toString('latin1', 0, 3), 'CRE');
    assert.equal(sealedKeyId(sealed), 'aaaaaaaa');
    assert.equal(sealed.indexOf(plain.subarray(1000, 1064)), -1, 'no stretch of the plaintext shows in the sealed blob');
    const again = seal(keyA, 'chunk', name, plain);
    assert.ok(!again.equals(sealed), 'a random nonce: sealing twice gives different blobs');
    const opened = open(keyA, 'chunk', name, sealed);
    assert.ok(opened.equals(plain));
    assert.equal(opened.buffer, sealed.buffer, 'opened in the memory it was read into');
    assert.ok(open(keyA, 'chunk', name, seal(keyA, 'chunk', name, Buffer.alloc(0))).length === 0, 'an empty blob too');
  });

  it('refuses a blob with any byte changed, under another key, another name or another purpose', () => {
    const sealed = seal(keyA, 'chunk', name, plain);
    for (const at of [0, 3, 5, 10, 20, 1_000_000, sealed.length - 20, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x01;
      assert.throws(() => open(keyA, 'chunk', name, bad), SealError, `byte ${at} changed`);
    }
    assert.throws(() => open(keyA, 'chunk', name, Buffer.from(sealed.subarray(0, sealed.length - 1))), /authentication tag does not match/);
    assert.throws(() => open(keyA, 'chunk', name, Buffer.from(sealed.subarray(0, 30))), /shorter than its header/);
    assert.throws(() => open(keyB, 'chunk', name, Buffer.from(sealed)), /master key aaaaaaaa, which the master key file does not hold \(it holds bbbbbbbb\)/);
    const impostor = new MasterKeys([{ id: 'aaaaaaaa', key: seededRandom('master-b').bytes(32) }]);
    assert.throws(() => open(impostor, 'chunk', name, Buffer.from(sealed)), /authentication tag does not match/, 'a different key under the same ID');
    assert.throws(() => open(keyA, 'chunk', 'f'.repeat(64), Buffer.from(sealed)), /authentication tag does not match/, 'a blob moved to another chunk\'s name');
    assert.throws(() => open(keyA, 'manifest', name, Buffer.from(sealed)), /authentication tag does not match/);
  });

  describe('the encrypting store', () => {
    let dir: string;
    let inner: LocalChunkStore;
    before(async () => {
      dir = await makeTempDir();
      inner = new LocalChunkStore(join(dir, 'chunks'));
    });
    after(async () => {
      await removeTempDir(dir);
    });

    it('passes plain blobs (a store from before encryption) through, and rekeys them and older keys in place', async () => {
      const old = Buffer.from(plain);
      await inner.putIfAbsent(name, old);
      const both = new MasterKeys([keyA.current, keyB.current]);
      const store = new EncryptingChunkStore(inner, keyA, slots);
      assert.ok((await store.get(name))!.equals(plain), 'plain blob read as it is');
      assert.equal(await store.rekey(name), 'rekeyed');
      assert.ok(isSealed((await inner.get(name))!), 'sealed in place');
      assert.equal(await store.rekey(name), 'current');
      const rotated = new EncryptingChunkStore(inner, both, slots);
      const slot = slots.take();
      const read = (await rotated.get(name, slot))!;
      assert.ok(read.equals(plain), 'the old key still opens it');
      assert.equal(read.buffer, slot.buffer, 'opened in the slot it was read into');
      slots.give(slot);
      assert.equal(await rotated.rekey(name), 'rekeyed');
      assert.equal(sealedKeyId((await inner.get(name))!), 'bbbbbbbb');
      assert.ok((await new EncryptingChunkStore(inner, keyB).get(name))!.equals(plain), 'the new key alone opens it now');
      await assert.rejects(store.get(name), /master key bbbbbbbb, which the master key file does not hold/);
      assert.equal(await rotated.rekey('0'.repeat(64)), 'missing');

      const damaged = seededRandom('damaged-plain').bytes(5000);
      const dkey = keyOf(damaged, 'damaged-plain');
      await inner.putIfAbsent(dkey, damaged);
      await assert.rejects(rotated.rekey(dkey, () => {
        throw new Error('fails its digest check');
      }), /fails its digest check/);
      assert.ok((await inner.get(dkey))!.equals(damaged), 'a plain blob that fails its check is left as it was, not sealed');
    });

    it('a flipped byte in a stored blob makes reading it fail', async () => {
      const store = new EncryptingChunkStore(inner, keyA, slots);
      const data = seededRandom('flip').bytes(100_000);
      const key = keyOf(data, 'flip');
      await store.putIfAbsent(key, data);
      const file = join(dir, 'chunks', key.slice(0, 2), key.slice(2, 4), key);
      const bytes = await readFile(file);
      bytes[50_000]! ^= 0x80;
      await writeFile(file, bytes);
      await assert.rejects(store.get(key, slots.take()), (err: Error) => err instanceof SealError && /chunk [0-9a-f]{64} does not open: its authentication tag does not match/.test(err.message));
    });
  });
});

describe('master key files', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(dir);
  });

  it('are made 0600, grow by one key at each rotation (the last seals), and are refused when others may read them', async () => {
    const file = join(dir, 'master.key');
    const first = addMasterKey(file);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const second = addMasterKey(file);
    const keys = readMasterKeys(file);
    assert.equal(keys.current.id, second.id);
    assert.deepEqual(keys.ids, [first.id, second.id]);
    assert.ok(keys.get(first.id)!.key.equals(first.key));
    const { chmod } = await import('node:fs/promises');
    await chmod(file, 0o644);
    assert.throws(() => readMasterKeys(file), /may be read by other users \(mode 644\); run `chmod 600/);
    assert.throws(() => parseMasterKeys('cairn-master-key 1 zz nope\n', file), /Line 1 of the master key file .* is not "cairn-master-key 1 <id> <key>"/);
    assert.throws(() => parseMasterKeys('# nothing\n', file), /holds no key/);
  });
});
