import { Command, CommanderError } from 'commander';
import { CairnError } from '../domain/errors.js';
import { VERSION } from '../version.js';
import { adminCommand } from './admin.js';
import { serveCommand } from './serve.js';

const program = new Command('cairn')
  .description('Cairn: backups of disks, shared between accounts')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

serveCommand(program);
adminCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`cairn: ${message}\n`);
  process.exit(err instanceof CairnError ? exitCodeFor(err.status) : 1);
}

function exitCodeFor(status: number): number {
  if (status === 401 || status === 403) return 3;
  if (status === 404) return 4;
  if (status === 409) return 5;
  return 2;
}
