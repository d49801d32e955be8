import type { MasterKeys } from '../store/master-key.js';
import { CairnError } from '../domain/errors.js';
import { isSealed, open, seal, SealError } from '../store/sealed-blob.js';

/**
 * Manifests in the metadata store, sealed under the master keys when the
 * server has them (docs/formats.md, "Encryption at rest"): every read and
 * write of the `manifests` table's body goes through here. A manifest stored
 * before encryption was turned on is plain ("CAIRNMF1…") and reads as it is.
 */
export function sealManifest(keys: MasterKeys | null | undefined, digest: string, body: Buffer): Buffer {
  return keys ? seal(keys, 'manifest', digest, body) : body;
}

export function openManifest(keys: MasterKeys | null | undefined, digest: string, stored: Buffer): Buffer {
  if (!isSealed(stored)) return stored;
  if (!keys) throw new Error(`Manifest ${digest} is encrypted at rest, and this server has no master key: start it with --master-key-file (CAIRN_MASTER_KEY_FILE) naming the key file it was written under.`);
  try {
    return open(keys, 'manifest', digest, stored, `manifest ${digest}`);
  } catch (err) {
    if (err instanceof SealError) throw new CairnError(500, 'manifest_damaged', `Manifest ${digest} is damaged in the metadata store (${err.reason}); run \`cairn verify\`, and restore the database from a dump if it stays so.`);
    throw err;
  }
}
