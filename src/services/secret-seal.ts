/**
 * The one place where secrets that must be read back (access keys' secrets, which
 * check request signatures) are sealed before they are stored and unsealed when
 * they are used. There is no master key yet, so a sealed secret is the secret
 * behind a scheme tag (`plain:`); when the server gets a master key, this module
 * encrypts under it (a new tag, say `aes256gcm:`) and still opens `plain:` rows,
 * so existing keys keep working and can be resealed. Nothing else reads the column.
 */
const PLAIN = 'plain:';

export function sealSecret(secret: string): string {
  return PLAIN + secret;
}

export function unsealSecret(sealed: string): string {
  if (sealed.startsWith(PLAIN)) return sealed.slice(PLAIN.length);
  throw new Error('An access key secret is sealed with a scheme this server does not know; it was written by a newer Cairn.');
}
