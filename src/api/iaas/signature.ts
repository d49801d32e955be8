import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * QingCloud's request signature, version 1 (docs/qingcloud-api.md): the
 * parameters but `signature`, sorted by name, each name and value URL-encoded
 * (RFC 3986: only `A-Za-z0-9-_.~` kept, space as %20, uppercase hex), joined
 * with & into the query; the string to sign is the method as sent, the path and
 * that query on three lines; its HMAC with the secret, in base64, is the signature.
 */
export const IAAS_PATH = '/iaas/';

export const SIGNATURE_METHODS = { HmacSHA256: 'sha256', HmacSHA1: 'sha1' } as const;
export type SignatureMethod = keyof typeof SIGNATURE_METHODS;

export function isSignatureMethod(m: string): m is SignatureMethod {
  return Object.hasOwn(SIGNATURE_METHODS, m);
}

/** encodeURIComponent keeps `!'()*` too; QingCloud's SDKs (quote with safe='-_.~') do not. */
export function encodeParam(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical query of a request's parameters (names are unique: the parser refuses repeats). */
export function canonicalQuery(params: ReadonlyMap<string, string>): string {
  return [...params]
    .filter(([name]) => name !== 'signature')
    // By code unit, as the SDKs' sorted() does: localeCompare would put "snapshots.10" by the locale's rules.
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${encodeParam(name)}=${encodeParam(value)}`)
    .join('&');
}

export function stringToSign(method: string, params: ReadonlyMap<string, string>): string {
  return `${method.toUpperCase()}\n${IAAS_PATH}\n${canonicalQuery(params)}`;
}

export function sign(secret: string, method: string, params: ReadonlyMap<string, string>, algorithm: SignatureMethod): string {
  return createHmac(SIGNATURE_METHODS[algorithm], secret).update(stringToSign(method, params)).digest('base64');
}

/** Compares in constant time, so the answer's timing does not tell how much of a guess was right. */
export function signatureMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
