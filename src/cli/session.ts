import { hostname } from 'node:os';
import type { Command } from 'commander';
import { CairnError } from '../domain/errors.js';
import { configPath, readConfig, resolveClient, resolveServer, writeConfig } from './config-file.js';
import { CairnClient } from './http-client.js';
import { transportFrom, type Transport } from './transport.js';
import { globalsOf } from './options.js';
import { printJson, printMessage, printObject } from './output.js';
import { accountRows } from './accounts.js';
import { readSecret } from './secrets.js';

interface Credentials {
  email: string;
  password?: string;
}

/** register, login and logout: the commands that work before (or after) having a token. */
export function sessionCommands(program: Command): void {
  program
    .command('register')
    .description('Create an account on the server (then run `cairn login`)')
    .requiredOption('--email <email>', 'the new account\'s email')
    .option('--password <password>', 'its password, 8 characters or more (or CAIRN_PASSWORD, or standard input)')
    .action(async (_opts: Credentials, cmd: Command) => {
      const o = globalsOf<Credentials>(cmd);
      const password = await readSecret(o.password, 'password');
      // A token, if there is one, is sent along: on a server with closed registration only an administrator may register others.
      const client = await resolveClient(o, { requireToken: false });
      const res = await client.register(o.email, password);
      printObject(res, accountRows(res.account), o);
      printMessage(`\nRegistered ${res.account.email}; sign in with: cairn login --email ${res.account.email}`, o);
    });

  program
    .command('login')
    .description('Sign in and store an API token for this CLI in the config file')
    .requiredOption('--email <email>', 'the account\'s email')
    .option('--password <password>', 'its password (or CAIRN_PASSWORD, or standard input)')
    .option('--token-name <name>', 'name of the API token created for this CLI', `cairn CLI on ${hostname()}`.slice(0, 128))
    .action(async (_opts: Credentials & { tokenName: string }, cmd: Command) => {
      const o = globalsOf<Credentials & { tokenName: string }>(cmd);
      const password = await readSecret(o.password, 'password');
      const path = configPath();
      const previous = await readConfig(path);
      // No bearer token on the way in: a stale stored one would make the server refuse the sign-in itself.
      const anonymous = new CairnClient({ server: await resolveServer(o), transport: transportFrom(o) });
      // The CLI keeps a revocable API token, never a password or a browser
      // session: the session lives just long enough to mint the token.
      const { account, session } = await anonymous.login(o.email, password);
      const browser = anonymous.with({ session });
      let created;
      try {
        created = (await browser.createToken(o.tokenName)).token;
      } finally {
        await browser.logoutSession().catch(() => undefined);
      }
      await writeConfig({ server: anonymous.server, token: created.token, token_id: created.id, email: account.email, account_id: account.id }, path);
      await revokePrevious(previous, created.id, anonymous.transport);
      const { token: _secret, ...token } = created;
      if (o.json) return printJson({ account, token, server: anonymous.server, config: path });
      printMessage(`Logged in to ${anonymous.server} as ${account.email} (${account.id}${account.is_admin ? ', administrator' : ''}).`);
      printMessage(`API token ${token.id} "${token.name}" is stored in ${path}.`);
    });

  program
    .command('logout')
    .description('Forget the stored API token, and revoke it on the server')
    .action(async (_opts: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const path = configPath();
      const config = await readConfig(path);
      if (!config.token) {
        if (o.json) return printJson({ logged_out: false, revoked: false });
        return printMessage(`Not logged in (no token in ${path}); nothing to do.`);
      }
      let revoked = false;
      let why = '';
      if (config.server && config.token_id) {
        try {
          await new CairnClient({ server: config.server, token: config.token, transport: transportFrom(o) }).revokeToken(config.token_id);
          revoked = true;
        } catch (err) {
          // A token the server no longer accepts is as good as revoked; anything else must be said.
          if (err instanceof CairnError && err.status === 401) revoked = true;
          else why = err instanceof Error ? err.message : String(err);
        }
      } else why = 'the config does not record the token\'s ID';
      await writeConfig(config.server ? { server: config.server } : {}, path);
      if (!revoked)
        process.stderr.write(
          `cairn: warning: the token was forgotten but not revoked on the server (${why}); revoke it with \`cairn token revoke${config.token_id ? ` ${config.token_id}` : ' <id>'}\` when you can.\n`,
        );
      if (o.json) return printJson({ logged_out: true, revoked, token_id: config.token_id ?? null, email: config.email ?? null });
      printMessage(`Logged out${config.email ? ` ${config.email}` : ''} from ${config.server ?? 'the server'}${revoked ? '; its API token is revoked' : ''}.`);
    });
}

/**
 * Logging in again must not leave the earlier token of this CLI valid and
 * forgotten. Best effort and brief: an old server that is gone must not hold up the new login.
 */
async function revokePrevious(previous: { server?: string; token?: string; token_id?: string }, newId: string, transport: Transport): Promise<void> {
  if (!previous.token || !previous.token_id || !previous.server || previous.token_id === newId) return;
  try {
    // The constructor too may refuse (plain HTTP to another machine): best effort all the same.
    await new CairnClient({ server: previous.server, token: previous.token, timeoutMs: 5000, transport }).revokeToken(previous.token_id);
  } catch {
    // The old server may be gone; the new login stands.
  }
}
