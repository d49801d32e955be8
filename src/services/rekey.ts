import type { Db } from '../db/connect.js';
import { CairnError } from '../domain/errors.js';
import { nowIso } from '../domain/time.js';
import type { EncryptingChunkStore } from '../store/encrypting-store.js';
import type { MasterKeys } from '../store/master-key.js';
import { isSealed, SealError, sealedKeyId } from '../store/sealed-blob.js';
import { mapLimit } from './batches.js';
import { verifyChunk } from '../format/chunk-codec.js';
import { openManifest, sealManifest } from './sealed-manifests.js';
import { sealedUnderCurrent, sealSecret, unsealSecret, unsealWebhookSecret, webhookSecretName } from './secret-seal.js';

export interface RekeyReport {
  key_id: string;
  chunks: { rekeyed: number; current: number; missing: number; damaged: string[] };
  manifests: { rekeyed: number; current: number; damaged: string[] };
  secrets: { rekeyed: number };
  /** False when the run stopped at `maxChunks`; run it again to go on from where it stopped. */
  finished: boolean;
}

const BATCH = 256;

/**
 * Moves everything sealed at rest (chunk blobs, manifests, secrets) to the
 * current master key, and seals what is still plain (a store from before
 * encryption): `cairn admin rekey` (docs/formats.md, "Key rotation"). Online:
 * each blob is rewritten atomically in its place, and readers open either
 * version. Resumable: the chunks and manifests tables are walked in digest
 * order, and the last digest done is kept in `rekey_cursors` after each
 * batch, so a run that is killed goes on where it stopped; a blob rewritten
 * twice is no harm. A new current key starts the walk again.
 */
export async function rekey(db: Db, store: EncryptingChunkStore, keys: MasterKeys, opts: { maxChunks?: number; onBatch?: (report: RekeyReport) => void } = {}): Promise<RekeyReport> {
  const keyId = keys.current.id;
  const report: RekeyReport = { key_id: keyId, chunks: { rekeyed: 0, current: 0, missing: 0, damaged: [] }, manifests: { rekeyed: 0, current: 0, damaged: [] }, secrets: { rekeyed: 0 }, finished: false };
  let budget = opts.maxChunks ?? Infinity;

  const chunksDone = await walk(db, 'chunks', keyId, async (after) => {
    const rows = await db.selectFrom('chunks').select('digest').where('digest', '>', after).orderBy('digest').limit(Math.min(BATCH, budget)).execute();
    const results = await mapLimit(rows, 4, async ({ digest }) => {
      try {
        return await store.rekey(digest, (plain) => {
          try {
            verifyChunk(plain, digest);
          } catch (err) {
            throw new SealError(`chunk ${digest}`, `it is stored plain and fails its check (${err instanceof Error ? err.message : String(err)})`);
          }
        });
      } catch (err) {
        // A blob that does not open is damaged; it is left as it is, for verify to report and a new upload to replace.
        if (err instanceof SealError) return err;
        throw err;
      }
    });
    results.forEach((r, i) => (r instanceof SealError ? report.chunks.damaged.push(rows[i]!.digest) : report.chunks[r]++));
    budget -= rows.length;
    opts.onBatch?.(report);
    return { last: rows.at(-1)?.digest, more: budget > 0 };
  });
  if (!chunksDone) return report;

  await walk(db, 'manifests', keyId, async (after) => {
    const rows = await db.selectFrom('manifests').select(['digest', 'body']).where('digest', '>', after).orderBy('digest').limit(16).execute();
    for (const { digest, body } of rows) {
      if (isSealed(body) && sealedKeyId(body) === keyId) {
        report.manifests.current++;
        continue;
      }
      let plain: Buffer;
      try {
        plain = openManifest(keys, digest, body);
      } catch (err) {
        if (!(err instanceof CairnError)) throw err;
        report.manifests.damaged.push(digest);
        continue;
      }
      // A manifest never changes once stored, so nothing written in between can be lost.
      await db.updateTable('manifests').set({ body: sealManifest(keys, digest, plain) }).where('digest', '=', digest).execute();
      report.manifests.rekeyed++;
    }
    return { last: rows.at(-1)?.digest, more: true };
  });

  // Few and small: all of them, every run.
  for (const k of await db.selectFrom('access_keys').select(['id', 'secret_sealed']).execute()) {
    if (sealedUnderCurrent(k.secret_sealed, keys)) continue;
    const name = `access key ${k.id}`;
    const sealed = sealSecret(unsealSecret(k.secret_sealed, keys, name), keys, name);
    await db.updateTable('access_keys').set({ secret_sealed: sealed }).where('id', '=', k.id).where('secret_sealed', '=', k.secret_sealed).execute();
    report.secrets.rekeyed++;
  }
  for (const p of await db.selectFrom('backup_policies').select(['id', 'webhook_secret']).execute()) {
    if (sealedUnderCurrent(p.webhook_secret, keys)) continue;
    const sealed = sealSecret(unsealWebhookSecret(p.webhook_secret, keys, p.id), keys, webhookSecretName(p.id));
    await db.updateTable('backup_policies').set({ webhook_secret: sealed }).where('id', '=', p.id).where('webhook_secret', '=', p.webhook_secret).execute();
    report.secrets.rekeyed++;
  }
  report.finished = true;
  return report;
}

/**
 * Walks one table from its cursor, one batch at a time, saving the cursor after
 * each; true once the whole table is done (now or by an earlier run for this key).
 */
async function walk(db: Db, name: string, keyId: string, batch: (after: string) => Promise<{ last: string | undefined; more: boolean }>): Promise<boolean> {
  const cursor = await db.selectFrom('rekey_cursors').selectAll().where('name', '=', name).executeTakeFirst();
  const fresh = !cursor || cursor.key_id !== keyId;
  if (!fresh && cursor.done === 1) return true;
  let after = fresh ? '' : cursor.after;
  const save = (done: boolean) => {
    const row = { key_id: keyId, after, done: done ? 1 : 0, updated_at: nowIso() };
    return db.insertInto('rekey_cursors').values({ name, ...row }).onConflict((oc) => oc.column('name').doUpdateSet(row)).execute();
  };
  for (;;) {
    const { last, more } = await batch(after);
    if (last === undefined) {
      await save(true);
      return true;
    }
    after = last;
    await save(false);
    if (!more) return false;
  }
}
