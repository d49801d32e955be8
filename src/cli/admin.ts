import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { readSecret } from './secrets.js';

/** Local commands: they open the metadata store directly, so they run on the server's machine. */
export function adminCommand(program: Command): void {
  const admin = program.command('admin').description('Server administration on this machine (opens the database directly)');
  admin
    .command('create')
    .description('Create a server administrator, or make an existing account one')
    .requiredOption('--email <email>', 'the administrator\'s email')
    .option('--password <password>', 'its password (or CAIRN_PASSWORD, or standard input)')
    .option('--data-dir <dir>', 'data directory (CAIRN_DATA_DIR)')
    .option('--database <url>', 'postgres://… or an SQLite file (CAIRN_DATABASE)')
    .action(async (opts: { email: string; password?: string; dataDir?: string; database?: string }) => {
      const config = loadConfig({ dataDir: opts.dataDir, database: opts.database });
      const { openServices } = await import('../app.js');
      const services = await openServices(config);
      try {
        const exists = await services.meta.db.selectFrom('accounts').select('id').where('email', '=', opts.email.trim().toLowerCase()).executeTakeFirst();
        const password = exists ? undefined : await readSecret(opts.password, 'password');
        const account = await services.accounts.ensureAdmin(opts.email, password);
        process.stdout.write(`${account.id} ${account.email} is an administrator\n`);
      } finally {
        await services.meta.close();
      }
    });
}
