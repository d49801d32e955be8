import { Command, CommanderError } from 'commander';
import { CairnError } from '../domain/errors.js';
import { retainFreedMemory, runtimeTricks } from '../runtime/index.js';
import { VERSION } from '../version.js';
import { accessKeyCommands } from './access-keys.js';
import { accountCommands } from './accounts.js';
import { adminCommand } from './admin.js';
import { agentCommand } from './agent.js';
import { backupCommands } from './backups.js';
import { fileCommands } from './files.js';
import { imageCommands } from './images.js';
import { jobCommands } from './jobs.js';
import { printJson, renderTable } from './output.js';
import { resourceCommands } from './resources.js';
import { serveCommand } from './serve.js';
import { sessionCommands } from './session.js';
import { sharingCommands } from './sharing.js';
import { policyCommands, taskCommands } from './tasks.js';

// Before anything allocates much, or starts a thread: how much freed memory
// glibc keeps, and in how many arenas (src/runtime/malloc-tuning.ts); `cairn
// serve` sets a server's own amount.
retainFreedMemory();

const program = new Command('cairn')
  .description('Cairn: backups of disks, shared between accounts')
  .version(VERSION)
  .option('--server <url>', 'URL of the Cairn server (CAIRN_SERVER, else the one you logged in to, else http://127.0.0.1:8080)')
  .option('--token <token>', 'API token to use instead of the stored login (CAIRN_TOKEN)')
  .option('--json', 'print the server\'s JSON answer, and nothing else, on standard output')
  .option('--ca <file>', 'trust this CA certificate (PEM) for the server\'s HTTPS certificate, besides the usual CAs (CAIRN_CA)')
  .option('--insecure-http', 'allow plain http:// to a server other than this machine: token and data cross the network unencrypted (CAIRN_INSECURE_HTTP=true)')
  .showHelpAfterError()
  .exitOverride();

serveCommand(program);
adminCommand(program);
sessionCommands(program);
accountCommands(program);
accessKeyCommands(program);
resourceCommands(program);
jobCommands(program);
backupCommands(program);
sharingCommands(program);
policyCommands(program);
taskCommands(program);
imageCommands(program);
fileCommands(program);
agentCommand(program);
program
  .command('runtime')
  .description('Show which tricks with Node, V8 and the C library work here (checked now), and why not where one does not')
  .action(async () => {
    const tricks = await runtimeTricks();
    if (program.opts<{ json?: boolean }>().json) return printJson(tricks);
    process.stdout.write(renderTable(['trick', 'state', 'why'], Object.entries(tricks).map(([name, { active, reason }]) => [name, active ? 'active' : 'inactive', reason])));
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Usage errors (unknown option, missing argument) are the caller's mistake, like a 400.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`cairn: ${message}\n`);
  process.exit(err instanceof CairnError ? exitCodeFor(err.status) : 1);
}

function exitCodeFor(status: number): number {
  if (status === 401 || status === 403) return 3;
  if (status === 404) return 4;
  if (status === 409) return 5;
  if (status >= 400 && status < 500) return 2;
  return 1;
}
