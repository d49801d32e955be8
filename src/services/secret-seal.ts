import type { MasterKeys } from '../store/master-key.js';
import { isSealed, open, seal, sealedKeyId } from '../store/sealed-blob.js';

/**
 * The one place where secrets that must be read back (access keys' secrets,
 * which check request signatures; backup policies' webhook secrets, which sign
 * deliveries) are sealed before they are stored and unsealed when they are
 * used. With a master key a secret is sealed under it (sealed-blob.ts) behind
 * the tag `aes256gcm:`; without one it is the secret behind `plain:`. Both
 * open, so rows written before the key was configured keep working, and
 * `cairn admin rekey` seals them. `name` (the row's ID) binds a sealed secret
 * to its row: copied to another row, it does not open.
 */
const PLAIN = 'plain:';
const SEALED = 'aes256gcm:';

export function sealSecret(secret: string, keys: MasterKeys | null | undefined, name: string): string {
  return keys ? SEALED + seal(keys, 'secret', name, Buffer.from(secret, 'utf8')).toString('base64') : PLAIN + secret;
}

export function unsealSecret(sealed: string, keys: MasterKeys | null | undefined, name: string): string {
  if (sealed.startsWith(PLAIN)) return sealed.slice(PLAIN.length);
  if (sealed.startsWith(SEALED)) {
    if (!keys) throw new Error(`The secret of ${name} is encrypted at rest, and this server has no master key: start it with --master-key-file (CAIRN_MASTER_KEY_FILE).`);
    return open(keys, 'secret', name, Buffer.from(sealed.slice(SEALED.length), 'base64'), `the secret of ${name}`).toString('utf8');
  }
  throw new Error(`The secret of ${name} is sealed with a scheme this server does not know; it was written by a newer Cairn.`);
}

/** Whether a stored secret is sealed under the current master key (else `cairn admin rekey` seals it again). */
export function sealedUnderCurrent(sealed: string, keys: MasterKeys): boolean {
  if (!sealed.startsWith(SEALED)) return false;
  const blob = Buffer.from(sealed.slice(SEALED.length), 'base64');
  return isSealed(blob) && sealedKeyId(blob) === keys.current.id;
}

/** What a policy's webhook secret is sealed for: its policy, so that copied to another row it does not open. */
export const webhookSecretName = (policyId: string): string => `policy ${policyId}`;

/** Webhook secrets were stored bare (hex) before they were sealed: a value without a tag is such a row, and is what it says. */
export function unsealWebhookSecret(stored: string, keys: MasterKeys | null | undefined, policyId: string): string {
  return stored.startsWith(SEALED) || stored.startsWith(PLAIN) ? unsealSecret(stored, keys, webhookSecretName(policyId)) : stored;
}
