import type { MasterKeys } from '../store/master-key.js';
import { isSealed, open, seal } from '../store/sealed-blob.js';

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
  return open(keys, 'manifest', digest, stored, `manifest ${digest}`);
}
