import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type tls from 'node:tls';
import { CairnError } from '../domain/errors.js';
import { contextTrusting } from '../runtime/index.js';

/** How the CLI and the agent reach the server: which CAs they trust, and whether plain HTTP may leave this machine. */
export interface TransportOptions {
  /** PEM of a CA to trust besides Node's own (the server's private CA); from --ca FILE or CAIRN_CA. */
  ca?: string;
  /** Where `ca` came from, for error messages. */
  caFile?: string;
  /** Plain HTTP to a server other than this machine is allowed (--insecure-http, CAIRN_INSECURE_HTTP). */
  insecureHttp?: boolean;
}

/**
 * The kept-alive connections to the server (shared by every client made with
 * this transport: a disk moves as thousands of chunk requests), with the CAs
 * the server's certificate must be signed by.
 */
export class Transport {
  /** No --ca, no --insecure-http: the CAs Node trusts, and plain HTTP to this machine only. */
  static readonly standard = new Transport({});

  readonly http = new http.Agent({ keepAlive: true });
  private httpsAgent: https.Agent | undefined;
  private context: tls.SecureContext | null | undefined;

  constructor(readonly options: TransportOptions) {}

  /** Made at the first HTTPS request: a command to an http:// server never builds a TLS context. */
  get https(): https.Agent {
    return (this.httpsAgent ??= new https.Agent({ keepAlive: true, ...this.tlsOptions }));
  }

  /** The TLS options of every connection, the agent's and a chunk stream's own: the CA given, besides Node's. */
  get tlsOptions(): { secureContext?: tls.SecureContext } {
    if (this.context === undefined) this.context = this.options.ca ? contextTrusting(this.options.ca) : null;
    return this.context ? { secureContext: this.context } : {};
  }

  /**
   * Refuses a plain-HTTP server URL whose host is not this machine, unless
   * allowed: the API token and every byte of every disk would cross the
   * network readable by anyone on the way. Checked before any connection.
   */
  check(server: URL): void {
    if (server.protocol !== 'http:' || this.options.insecureHttp || isLoopback(server.hostname)) return;
    throw new CairnError(
      400,
      'insecure_http',
      `Refusing plain HTTP to ${server.host}: your API token and your disks' data would cross the network unencrypted. ` +
        `Use https://${server.host} (the server serves HTTPS with --tls-cert and --tls-key; see docs/deploy.md), ` +
        'or, on a network you trust, pass --insecure-http (or set CAIRN_INSECURE_HTTP=true).',
      'server',
    );
  }
}

/** localhost, 127.0.0.0/8 and ::1 (and IPv4 loopback written as IPv6): traffic that never leaves this machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host) || /^(0{1,4}:){7}0{0,3}1$/.test(host);
  return false;
}

/** Yes for 1/true/yes/on, no for unset, empty and 0/false/no/off; anything else is a mistake worth saying. */
function envFlag(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '' || /^(0|false|no|off)$/i.test(value)) return false;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  throw new CairnError(400, 'bad_request', `${name} must be true or false, got "${value}".`, name);
}

/**
 * The transport that flags and environment ask for: --ca FILE (else
 * CAIRN_CA), --insecure-http (else CAIRN_INSECURE_HTTP). The same settings
 * give the same transport, so its connections are shared.
 */
export function transportFrom(opts: { ca?: string; insecureHttp?: boolean }, env: NodeJS.ProcessEnv = process.env): Transport {
  const caFile = opts.ca || env.CAIRN_CA || undefined;
  const insecureHttp = opts.insecureHttp === true || envFlag(env.CAIRN_INSECURE_HTTP, 'CAIRN_INSECURE_HTTP');
  if (!caFile && !insecureHttp) return Transport.standard;
  const key = `${caFile ?? ''}\n${insecureHttp}`;
  let transport = made.get(key);
  if (!transport) {
    transport = new Transport({ ca: caFile ? readCa(caFile) : undefined, caFile, insecureHttp });
    made.set(key, transport);
  }
  return transport;
}

const made = new Map<string, Transport>();

function readCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CairnError(400, 'bad_request', `Cannot read the CA certificate ${file} (--ca / CAIRN_CA): ${(err as Error).message}.`, 'ca');
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new CairnError(400, 'bad_request', `${file} (--ca / CAIRN_CA) holds no PEM certificate ("-----BEGIN CERTIFICATE-----"); give the CA's certificate in PEM.`, 'ca');
  return pem;
}

/** Error codes of a certificate the client would not trust, from OpenSSL and Node. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The error for a server whose certificate this client does not trust, or
 * null for any other failure. Not a ServerUnreachableError: trying again
 * cannot help, and a stranger's certificate must never be retried into.
 */
export function certificateError(err: unknown, server: string, transport: Transport): CairnError | null {
  const own = err as { code?: string; message?: string } | undefined;
  const cause = own?.code ? own : err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  if (!cause?.code || !UNTRUSTED.has(cause.code)) return null;
  const trusted = transport.options.caFile ? `Node's CAs and ${transport.options.caFile}` : "Node's CAs";
  const what =
    cause.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? `a certificate issued for another name (${cause.message})`
      : cause.code === 'CERT_HAS_EXPIRED' || cause.code === 'CERT_NOT_YET_VALID'
        ? `a certificate outside its validity dates (${cause.code})`
        : `a certificate not signed by any CA this client trusts (${cause.code}; trusted: ${trusted})`;
  const fix =
    cause.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? 'connect with the name the certificate was issued for, or give the server a certificate that names this one.'
      : cause.code === 'CERT_HAS_EXPIRED' || cause.code === 'CERT_NOT_YET_VALID'
        ? 'renew the server\'s certificate (then `kill -HUP` the server), or check this machine\'s clock.'
        : 'if the server\'s certificate comes from your own CA, pass that CA\'s certificate with --ca FILE (or set CAIRN_CA=FILE).';
  return new CairnError(502, 'untrusted_certificate', `The server at ${server} presented ${what}; nothing was sent. To connect, ${fix}`);
}
