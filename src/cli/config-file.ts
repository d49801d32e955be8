import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CairnError } from '../domain/errors.js';
import { CairnClient, normalizeServerUrl } from './http-client.js';
import { transportFrom } from './transport.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** What `cairn login` remembers. It holds a bearer token, hence the 0600 mode. */
export interface CliConfig {
  server?: string;
  token?: string;
  /** The stored token's ID, so that `cairn logout` can revoke it on the server. */
  token_id?: string;
  email?: string;
  account_id?: string;
}

/** The options every client command inherits from the program. */
export interface GlobalOptions {
  server?: string;
  token?: string;
  json?: boolean;
  /** A CA certificate (PEM file) to trust besides Node's own (CAIRN_CA). */
  ca?: string;
  /** Allow plain HTTP to a server other than this machine (CAIRN_INSECURE_HTTP). */
  insecureHttp?: boolean;
}

export type Source = 'flag' | 'env' | 'config' | 'default';

export interface ResolvedSettings {
  server: string;
  serverSource: Source;
  token?: string;
  tokenSource?: Exclude<Source, 'default'>;
}

/** $CAIRN_CONFIG, else $XDG_CONFIG_HOME/cairn/config.json, else ~/.config/cairn/config.json. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CAIRN_CONFIG) return env.CAIRN_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'cairn', 'config.json');
}

/** A missing file is an empty config: nobody has logged in yet. */
export async function readConfig(path: string = configPath()): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CairnError(400, 'bad_config', `Cannot read the CLI config ${path}: ${(err as Error).message}.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CairnError(400, 'bad_config', `The CLI config ${path} is not valid JSON; fix it or delete it and run \`cairn login\` again.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CairnError(400, 'bad_config', `The CLI config ${path} must hold a JSON object; delete it and run \`cairn login\` again.`);
  const out: CliConfig = {};
  for (const key of ['server', 'token', 'token_id', 'email', 'account_id'] as const) {
    const v = (parsed as Record<string, unknown>)[key];
    if (typeof v === 'string' && v) out[key] = v;
  }
  return out;
}

/**
 * Writes the config so that no other user can ever read the token: a fresh file
 * created 0600 beside the old one, then renamed over it, so a crash mid-write
 * cannot leave a truncated config nor, for an instant, a readable one.
 */
export async function writeConfig(config: CliConfig, path: string = configPath()): Promise<void> {
  const dir = dirname(path);
  // Only directories created here get 0700: an existing one (such as $CAIRN_CONFIG's) is not ours to change.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.config-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    // The umask may have cleared bits but never adds any; chmod makes the mode exact regardless.
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new CairnError(500, 'config_write', `Cannot write the CLI config ${path}: ${(err as Error).message}; set CAIRN_CONFIG to a writable path.`);
  }
}

/** Warns (on stderr) when a config holding a token has become readable by others, as ssh does for keys. */
export async function warnIfExposed(path: string, config: CliConfig, warn: (msg: string) => void = defaultWarn): Promise<void> {
  if (!config.token || process.platform === 'win32') return;
  const st = await stat(path).catch(() => null);
  if (st && (st.mode & 0o077) !== 0)
    warn(`warning: ${path} holds an API token but other users can read it; run \`chmod 600 ${path}\`.`);
}

function defaultWarn(msg: string): void {
  process.stderr.write(`cairn: ${msg}\n`);
}

/**
 * Picks the server and the token, each from the first place that has one:
 * flag, environment, config file (and a default server). The stored token is
 * used only with the server it was issued by, so that `--server` pointed
 * elsewhere never sends it to a stranger.
 */
export function resolveSettings(opts: GlobalOptions, env: NodeJS.ProcessEnv, config: CliConfig): ResolvedSettings {
  let server: string;
  let serverSource: Source;
  if (opts.server) [server, serverSource] = [opts.server, 'flag'];
  else if (env.CAIRN_SERVER) [server, serverSource] = [env.CAIRN_SERVER, 'env'];
  else if (config.server) [server, serverSource] = [config.server, 'config'];
  else [server, serverSource] = [DEFAULT_SERVER, 'default'];
  server = normalizeServerUrl(server);

  if (opts.token) return { server, serverSource, token: opts.token, tokenSource: 'flag' };
  if (env.CAIRN_TOKEN) return { server, serverSource, token: env.CAIRN_TOKEN, tokenSource: 'env' };
  if (config.token && config.server && normalizeServerUrl(config.server) === server)
    return { server, serverSource, token: config.token, tokenSource: 'config' };
  return { server, serverSource };
}

export interface ResolveClientOptions {
  /** Commands such as register and login work without a token. */
  requireToken?: boolean;
  env?: NodeJS.ProcessEnv;
  configFile?: string;
}

/** The server URL alone, for commands that must not send any token. */
export async function resolveServer(opts: GlobalOptions, how: Omit<ResolveClientOptions, 'requireToken'> = {}): Promise<string> {
  const env = how.env ?? process.env;
  return resolveSettings(opts, env, await readConfig(how.configFile ?? configPath(env))).server;
}

export async function resolveClient(opts: GlobalOptions, how: ResolveClientOptions = {}): Promise<CairnClient> {
  const path = how.configFile ?? configPath(how.env ?? process.env);
  const config = await readConfig(path);
  const settings = resolveSettings(opts, how.env ?? process.env, config);
  if (settings.tokenSource === 'config') await warnIfExposed(path, config);
  if (how.requireToken !== false && !settings.token) throw notLoggedIn(settings.server, config);
  return new CairnClient({ server: settings.server, token: settings.token, transport: transportFrom(opts, how.env ?? process.env) });
}

function notLoggedIn(server: string, config: CliConfig): CairnError {
  const elsewhere = config.token && config.server ? ` (the stored login is for ${config.server})` : '';
  const flag = server === DEFAULT_SERVER || (config.server && normalizeServerUrl(config.server) === server) ? '' : ` --server ${server}`;
  return new CairnError(401, 'not_logged_in', `not logged in to ${server}${elsewhere}: run \`cairn login${flag}\`, or pass --token or set CAIRN_TOKEN.`);
}
