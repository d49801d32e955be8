import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig, type ConfigInput } from '../config.js';
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

  const masterKey = admin.command('master-key').description('Master keys that encrypt chunks, manifests and secrets at rest (docs/formats.md)');
  masterKey
    .command('new <file>')
    .description('Write a new master key to FILE, made readable by its owner alone; to an existing file it is added after the others and seals new data from the next start, the others still open old data until `cairn admin rekey` has run')
    .action(async (file: string) => {
      const { addMasterKey } = await import('../app.js');
      const key = addMasterKey(resolve(file));
      process.stdout.write(`master key ${key.id} written to ${resolve(file)}; keep a copy away from the data directory and the database: without it nothing encrypted can be read\n`);
    });

  admin
    .command('rekey')
    .description('Move every chunk, manifest and secret to the newest key of the master key file (and encrypt what is still plain); online and resumable: run it again after an interruption')
    .option('--master-key-file <file>', 'the key file, newest key last (CAIRN_MASTER_KEY_FILE)')
    .option('--max-chunks <n>', 're-key at most this many chunks in this run, then stop (run again to go on)')
    .option('--data-dir <dir>', 'data directory (CAIRN_DATA_DIR)')
    .option('--database <url>', 'postgres://… or an SQLite file (CAIRN_DATABASE)')
    .option('--chunk-dir <dir>', 'folder of the chunk store (CAIRN_CHUNK_DIR)')
    .option('--chunk-store <url>', 's3://BUCKET[/PREFIX] (CAIRN_CHUNK_STORE)')
    .option('--s3-endpoint <url>', 'S3 endpoint (CAIRN_S3_ENDPOINT)')
    .option('--s3-path-style', 'address the bucket in the path (CAIRN_S3_PATH_STYLE=true)')
    .action(async (opts: ConfigInput & { maxChunks?: string }) => {
      const { maxChunks, ...flags } = opts;
      const limit = maxChunks === undefined ? undefined : Number(maxChunks);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new Error(`--max-chunks takes a whole number above 0, got "${maxChunks}".`);
      const { rekeyStore } = await import('../app.js');
      const r = await rekeyStore(loadConfig(flags), { maxChunks: limit });
      const c = r.chunks;
      process.stdout.write(
        `${r.finished ? 'done' : 'stopped (run again to go on)'}: under master key ${r.key_id} now; chunks: ${c.rekeyed} re-keyed, ${c.current} already were, ${c.missing} missing, ${c.damaged.length} damaged; ` +
          `manifests: ${r.manifests.rekeyed} re-keyed, ${r.manifests.current} already were; secrets: ${r.secrets.rekeyed} re-keyed\n`,
      );
      if (c.damaged.length) process.stderr.write(`damaged chunks (left as they were; run \`cairn verify\`): ${c.damaged.join(', ')}\n`);
      if (r.manifests.damaged.length) process.stderr.write(`damaged manifests (left as they were): ${r.manifests.damaged.join(', ')}\n`);
      if (c.damaged.length || r.manifests.damaged.length) process.exitCode = 6;
    });
}
