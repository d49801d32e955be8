import { createHmac } from 'node:crypto';

// A client of QingCloud's action API written from QingCloud's documentation
// ("签名方法", signature version 1), not from Cairn's code, so that the server is
// checked against the protocol rather than against itself:
//   1. sort the parameters by name (byte order);
//   2. URL-encode each name and value: only A-Z a-z 0-9 - _ . ~ stay, others as
//      %XY of their UTF-8 bytes in uppercase hex (so a space is %20);
//   3. join name=value pairs with & into the canonical query;
//   4. string to sign = HTTP method + "\n" + "/iaas/" + "\n" + canonical query;
//   5. signature = base64(HMAC(secret, string to sign)), HmacSHA256 or HmacSHA1;
//   6. send the parameters plus signature (URL-encoded), in the query (GET) or a form body (POST).

export type QcParams = Record<string, string | number>;
export type QcMethod = 'GET' | 'POST';
export type QcAlgorithm = 'HmacSHA256' | 'HmacSHA1';

// Test replies are read field by field; a wrong guess fails the assertion that reads it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type QcReply = any;

export function qcQuote(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function qcCanonicalQuery(params: QcParams): string {
  return Object.keys(params)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((k) => `${qcQuote(k)}=${qcQuote(String(params[k]))}`)
    .join('&');
}

export function qcSignature(secret: string, method: QcMethod, query: string, algorithm: QcAlgorithm = 'HmacSHA256'): string {
  return createHmac(algorithm === 'HmacSHA256' ? 'sha256' : 'sha1', secret).update(`${method}\n/iaas/\n${query}`).digest('base64');
}

/** QingCloud's time_stamp: UTC, to the second. */
export const qcTime = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

export interface CallOptions {
  method?: QcMethod;
  algorithm?: QcAlgorithm;
  /** The request's time (default now): a past one makes a replayed request. */
  at?: Date;
  /** Sends `expires` instead of `time_stamp`. */
  expires?: Date;
  /** Signs with this secret instead of the key's own (a wrong secret). */
  secret?: string;
  /** Appended to the signed query as it is, after signing (to send a repeated parameter, say). */
  extraQuery?: string;
}

export class QingCloudClient {
  constructor(
    readonly baseUrl: string,
    readonly accessKeyId: string,
    readonly secret: string,
  ) {}

  /** The full parameter list of a call, signed: the query string to send. */
  signedQuery(action: string, params: QcParams, opts: CallOptions = {}): string {
    const method = opts.method ?? 'GET';
    const algorithm = opts.algorithm ?? 'HmacSHA256';
    const all: QcParams = {
      ...params,
      action,
      access_key_id: this.accessKeyId,
      signature_method: algorithm,
      signature_version: 1,
      version: 1,
      zone: 'pek3',
      ...(opts.expires ? { expires: qcTime(opts.expires) } : { time_stamp: qcTime(opts.at ?? new Date()) }),
    };
    const query = qcCanonicalQuery(all);
    return `${query}&signature=${qcQuote(qcSignature(opts.secret ?? this.secret, method, query, algorithm))}`;
  }

  async call(action: string, params: QcParams = {}, opts: CallOptions = {}): Promise<QcReply> {
    const method = opts.method ?? 'GET';
    const query = this.signedQuery(action, params, opts) + (opts.extraQuery ?? '');
    const url = new URL('/iaas/', this.baseUrl);
    const res =
      method === 'GET'
        ? await fetch(`${url}?${query}`)
        : await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: query });
    if (res.status !== 200) throw new Error(`/iaas/ answered HTTP ${res.status}: ${await res.text()}`);
    return res.json();
  }

  /** A call that must succeed: its answer, checked for QingCloud's envelope. */
  async ok(action: string, params: QcParams = {}, opts: CallOptions = {}): Promise<QcReply> {
    const r = await this.call(action, params, opts);
    if (r.ret_code !== 0 || r.action !== `${action}Response`) throw new Error(`${action} failed: ${JSON.stringify(r)}`);
    return r;
  }
}
