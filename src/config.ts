import { join, resolve } from 'node:path';

/** Everything an operator can set, by flag or by `CAIRN_*` environment variable (flags win). */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://…` or a path to an SQLite file; defaults to `<dataDir>/cairn.db`. */
  databaseUrl: string;
  /** A folder for chunks; defaults to `<dataDir>/chunks`. */
  chunkDir: string;
  openRegistration: boolean;
  adminEmail: string | null;
  chainMaxLength: number;
  recycleBinMs: number;
  gcGraceMs: number;
  agentTimeoutMs: number;
  uploadIdleMs: number;
  gcIntervalMs: number;
  maxRecipientsPerChain: number;
  maxSharesPerAccount: number;
  logLevel: string;
  /** Folder of the built web console, served at `/` when present. */
  webDir: string | null;
}

export interface ConfigInput {
  host?: string;
  port?: string | number;
  dataDir?: string;
  database?: string;
  chunkDir?: string;
  registration?: string;
  adminEmail?: string;
  chainMaxLength?: string | number;
  recycleHours?: string | number;
  gcGraceSeconds?: string | number;
  agentTimeoutSeconds?: string | number;
  uploadIdleSeconds?: string | number;
  gcIntervalMinutes?: string | number;
  maxRecipients?: string | number;
  maxShares?: string | number;
  logLevel?: string;
  webDir?: string;
}

function num(value: string | number | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${what} must be a non-negative number, got "${value}".`);
  return n;
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
    openRegistration: registration === 'open',
    adminEmail: (pick(flags.adminEmail, 'ADMIN_EMAIL') as string | undefined) ?? null,
    chainMaxLength: num(pick(flags.chainMaxLength, 'CHAIN_MAX_LENGTH'), 30, 'The chain length'),
    recycleBinMs: num(pick(flags.recycleHours, 'RECYCLE_HOURS'), 2, 'The recycle bin time') * 3600_000,
    gcGraceMs: num(pick(flags.gcGraceSeconds, 'GC_GRACE_SECONDS'), 300, 'The GC grace period') * 1000,
    agentTimeoutMs: num(pick(flags.agentTimeoutSeconds, 'AGENT_TIMEOUT_SECONDS'), 600, 'The agent timeout') * 1000,
    uploadIdleMs: num(pick(flags.uploadIdleSeconds, 'UPLOAD_IDLE_SECONDS'), 120, 'The upload idle time') * 1000,
    gcIntervalMs: num(pick(flags.gcIntervalMinutes, 'GC_INTERVAL_MINUTES'), 60, 'The GC interval') * 60_000,
    maxRecipientsPerChain: num(pick(flags.maxRecipients, 'MAX_RECIPIENTS'), 100, 'The recipients limit'),
    maxSharesPerAccount: num(pick(flags.maxShares, 'MAX_SHARES'), 10_000, 'The shares limit'),
    logLevel: String(pick(flags.logLevel, 'LOG_LEVEL') ?? 'info'),
    webDir: (pick(flags.webDir, 'WEB_DIR') as string | undefined) ?? null,
  };
}
