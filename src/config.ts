import { isIP } from 'node:net';
import { join, resolve, sep } from 'node:path';
import type { S3Settings } from './store/s3-store.js';
import type { SmtpSettings } from './services/mailer.js';
import type { TlsFiles } from './api/tls.js';

/** Everything an operator can set, by flag or by `CAIRN_*` environment variable (flags win). */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://…` or a path to an SQLite file; defaults to `<dataDir>/cairn.db`. */
  databaseUrl: string;
  /** A folder for chunks; defaults to `<dataDir>/chunks`. Used unless `chunkStore` names a bucket. */
  chunkDir: string;
  /** Chunks in an S3 bucket instead of the folder, when set. */
  s3: S3Settings | null;
  openRegistration: boolean;
  adminEmail: string | null;
  chainMaxLength: number;
  recycleBinMs: number;
  gcGraceMs: number;
  agentTimeoutMs: number;
  uploadIdleMs: number;
  gcIntervalMs: number;
  /** How long the housekeeping lease lasts unrenewed: the most a dead holder delays housekeeping. */
  housekeepingLeaseMs: number;
  maxRecipientsPerChain: number;
  maxSharesPerAccount: number;
  logLevel: string;
  /** Folder of the built web console, served at `/` when present. */
  webDir: string | null;
  /**
   * Addresses (or CIDR ranges) of the load balancers in front: a request from one
   * of them is taken to come from the client its X-Forwarded-For names, which is
   * the address sign-in throttling counts. Empty: the connection's own address.
   */
  trustProxy: string[];
  /** Where backup policies' mails go out; null: none are sent (their deliveries fail, saying so). */
  smtp: SmtpSettings | null;
  /** The certificate and key files to serve HTTPS with (read again on SIGHUP); null: plain HTTP. */
  tls: TlsFiles | null;
  /** The master key file (outside the data directory and the database): chunks, manifests and recoverable secrets are encrypted at rest under it; null: not encrypted. */
  masterKeyFile: string | null;
}

export interface ConfigInput {
  host?: string;
  port?: string | number;
  dataDir?: string;
  database?: string;
  chunkDir?: string;
  chunkStore?: string;
  s3Endpoint?: string;
  s3PathStyle?: boolean | string;
  registration?: string;
  adminEmail?: string;
  chainMaxLength?: string | number;
  recycleHours?: string | number;
  gcGraceSeconds?: string | number;
  agentTimeoutSeconds?: string | number;
  uploadIdleSeconds?: string | number;
  gcIntervalMinutes?: string | number;
  housekeepingLeaseSeconds?: string | number;
  maxRecipients?: string | number;
  maxShares?: string | number;
  logLevel?: string;
  webDir?: string;
  trustProxy?: string;
  smtpHost?: string;
  smtpPort?: string | number;
  smtpUser?: string;
  smtpFrom?: string;
  smtpTls?: boolean | string;
  tlsCert?: string;
  tlsKey?: string;
  masterKeyFile?: string;
}

function num(value: string | number | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${what} must be a non-negative number, got "${value}".`);
  return n;
}

function flag(value: boolean | string | undefined, what: string): boolean {
  if (value === undefined || value === '' || value === false) return false;
  if (value === true) return true;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`${what} must be true or false, got "${value}".`);
}

function leaseMs(value: string | number | undefined): number {
  const seconds = num(value, 30, 'The housekeeping lease (--housekeeping-lease-seconds / CAIRN_HOUSEKEEPING_LEASE_SECONDS)');
  // Renewed every fifth of it at most (src/app.ts); below a second a slow query could let it lapse while its holder is alive.
  if (seconds < 1) throw new Error(`The housekeeping lease (--housekeeping-lease-seconds / CAIRN_HOUSEKEEPING_LEASE_SECONDS) must be at least 1 second, got "${value}".`);
  return seconds * 1000;
}

/** `s3://BUCKET[/PREFIX]` and the S3 settings beside it; null for the folder store. */
function s3Settings(store: string | undefined, endpoint: string | undefined, pathStyle: boolean | string | undefined, env: NodeJS.ProcessEnv): S3Settings | null {
  if (store === undefined || store === '') {
    if (endpoint) throw new Error('An S3 endpoint (--s3-endpoint / CAIRN_S3_ENDPOINT) is set but no bucket: add --chunk-store s3://BUCKET[/PREFIX] (CAIRN_CHUNK_STORE), or drop the endpoint to keep chunks in the folder.');
    return null;
  }
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(store);
  if (!m) throw new Error(`The chunk store must be s3://BUCKET[/PREFIX], got "${store}"; for a folder use --chunk-dir (CAIRN_CHUNK_DIR).`);
  const bucket = m[1]!;
  // S3's own bucket naming rules; anything else would fail later with a less clear error.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`"${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens).`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  let ipHost = false;
  if (endpoint) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new Error(`The S3 endpoint must be a URL such as http://127.0.0.1:7480, got "${endpoint}".`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`The S3 endpoint must be an http:// or https:// URL, got "${endpoint}".`);
    ipHost = url.hostname === 'localhost' || /^[\d.]+$|^\[/.test(url.hostname);
  }
  return {
    bucket,
    prefix: prefix ? `${prefix}/` : '',
    endpoint: endpoint || null,
    // A bucket cannot be a subdomain of an IP address or localhost: path style is the only way there.
    pathStyle: flag(pathStyle, 'The S3 path-style setting (--s3-path-style / CAIRN_S3_PATH_STYLE)') || ipHost,
    // The SDK insists on a region; stores other than AWS mostly ignore it.
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
  };
}

/** `10.0.0.5,10.0.1.0/24`: addresses or CIDR ranges, checked here rather than by the proxy library at the first request. */
function addressList(value: string | undefined): string[] {
  const items = (value ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  for (const item of items) {
    const [address, bits, extra] = item.split('/');
    const family = isIP(address!);
    const max = family === 4 ? 32 : 128;
    if (!family || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max)))
      throw new Error(`--trust-proxy (CAIRN_TRUST_PROXY) takes IP addresses or CIDR ranges separated by commas, such as 10.0.0.5,10.0.1.0/24; "${item}" is neither.`);
  }
  return items;
}

/** The SMTP settings, or null when no host is set; the password comes only from the environment, never a flag (ps would show it). */
function smtpSettings(flags: ConfigInput, env: NodeJS.ProcessEnv): SmtpSettings | null {
  const host = flags.smtpHost ?? env.CAIRN_SMTP_HOST;
  if (!host) return null;
  const tls = flag(flags.smtpTls ?? env.CAIRN_SMTP_TLS, 'The SMTP TLS setting (--smtp-tls / CAIRN_SMTP_TLS)');
  const port = num(flags.smtpPort ?? env.CAIRN_SMTP_PORT, tls ? 465 : 587, 'The SMTP port (--smtp-port / CAIRN_SMTP_PORT)');
  const from = flags.smtpFrom ?? env.CAIRN_SMTP_FROM;
  if (!from) throw new Error('An SMTP host is set but no sender: add --smtp-from (CAIRN_SMTP_FROM), e.g. "Cairn <backup@example.com>".');
  return { host, port, user: flags.smtpUser ?? env.CAIRN_SMTP_USER ?? null, password: env.CAIRN_SMTP_PASSWORD ?? null, from, tls };
}

/** Both files or neither: a certificate without its key (or the reverse) is a mistake, not plain HTTP. */
function tlsFiles(cert: string | undefined, key: string | undefined): TlsFiles | null {
  if (!cert && !key) return null;
  if (!cert || !key)
    throw new Error(`HTTPS needs both a certificate and its key: add ${cert ? '--tls-key FILE (CAIRN_TLS_KEY)' : '--tls-cert FILE (CAIRN_TLS_CERT)'}, or drop ${cert ? '--tls-cert' : '--tls-key'} to serve plain HTTP.`);
  return { certFile: resolve(cert), keyFile: resolve(key) };
}

/** The master key must not sit beside what it protects: whoever copies the data directory would copy the key with it. */
function masterKeyFile(value: string | undefined, dataDir: string): string | null {
  if (!value) return null;
  const file = resolve(value);
  if (file.startsWith(dataDir + sep))
    throw new Error(`The master key file ${file} is inside the data directory ${dataDir}; keep it elsewhere (--master-key-file / CAIRN_MASTER_KEY_FILE), so that a copy of the data is not a copy of its key.`);
  return file;
}

export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const pick = (flag: string | number | undefined, name: string) => flag ?? env[`CAIRN_${name}`];
  const dataDir = resolve(String(pick(flags.dataDir, 'DATA_DIR') ?? './data'));
  const registration = String(pick(flags.registration, 'REGISTRATION') ?? 'open');
  if (registration !== 'open' && registration !== 'closed')
    throw new Error(`Registration must be "open" or "closed", got "${registration}".`);
  const listen = String(pick(flags.host, 'HOST') ?? '127.0.0.1');
  return {
    host: listen,
    port: num(pick(flags.port, 'PORT'), 8080, 'The port'),
    dataDir,
    databaseUrl: String(pick(flags.database, 'DATABASE') ?? join(dataDir, 'cairn.db')),
    chunkDir: resolve(String(pick(flags.chunkDir, 'CHUNK_DIR') ?? join(dataDir, 'chunks'))),
    s3: s3Settings(
      pick(flags.chunkStore, 'CHUNK_STORE') as string | undefined,
      pick(flags.s3Endpoint, 'S3_ENDPOINT') as string | undefined,
      flags.s3PathStyle ?? env.CAIRN_S3_PATH_STYLE,
      env,
    ),
    openRegistration: registration === 'open',
    adminEmail: (pick(flags.adminEmail, 'ADMIN_EMAIL') as string | undefined) ?? null,
    chainMaxLength: num(pick(flags.chainMaxLength, 'CHAIN_MAX_LENGTH'), 30, 'The chain length'),
    recycleBinMs: num(pick(flags.recycleHours, 'RECYCLE_HOURS'), 2, 'The recycle bin time') * 3600_000,
    gcGraceMs: num(pick(flags.gcGraceSeconds, 'GC_GRACE_SECONDS'), 300, 'The GC grace period') * 1000,
    agentTimeoutMs: num(pick(flags.agentTimeoutSeconds, 'AGENT_TIMEOUT_SECONDS'), 600, 'The agent timeout') * 1000,
    uploadIdleMs: num(pick(flags.uploadIdleSeconds, 'UPLOAD_IDLE_SECONDS'), 120, 'The upload idle time') * 1000,
    gcIntervalMs: num(pick(flags.gcIntervalMinutes, 'GC_INTERVAL_MINUTES'), 60, 'The GC interval') * 60_000,
    housekeepingLeaseMs: leaseMs(pick(flags.housekeepingLeaseSeconds, 'HOUSEKEEPING_LEASE_SECONDS')),
    maxRecipientsPerChain: num(pick(flags.maxRecipients, 'MAX_RECIPIENTS'), 100, 'The recipients limit'),
    maxSharesPerAccount: num(pick(flags.maxShares, 'MAX_SHARES'), 10_000, 'The shares limit'),
    logLevel: String(pick(flags.logLevel, 'LOG_LEVEL') ?? 'info'),
    webDir: (pick(flags.webDir, 'WEB_DIR') as string | undefined) ?? null,
    trustProxy: addressList(pick(flags.trustProxy, 'TRUST_PROXY') as string | undefined),
    smtp: smtpSettings(flags, env),
    tls: tlsFiles(pick(flags.tlsCert, 'TLS_CERT') as string | undefined, pick(flags.tlsKey, 'TLS_KEY') as string | undefined),
    masterKeyFile: masterKeyFile(pick(flags.masterKeyFile, 'MASTER_KEY_FILE') as string | undefined, dataDir),
  };
}
