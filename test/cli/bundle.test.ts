import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CAIRN_BIN, childEnv, ROOT } from '../helpers/server.js';

const run = promisify(execFile);
const CLI_DIR = join(ROOT, 'dist', 'src', 'cli');

// bin/cairn.js runs the bundle (scripts/bundle-cli.mjs), not tsc's modules: what
// the modules find relative to themselves must still be found from it.
describe('the bundled CLI', () => {
  it('is what bin/cairn.js runs, and was made from the modules tsc built last', async () => {
    assert.match(await readFile(CAIRN_BIN, 'utf8'), /import '\.\.\/dist\/src\/cli\/cairn\.bundle\.js';/);
    const [bundle, main] = await Promise.all([stat(join(CLI_DIR, 'cairn.bundle.js')), stat(join(CLI_DIR, 'main.js'))]);
    assert.ok(bundle.mtimeMs >= main.mtimeMs, 'cairn.bundle.js is older than main.js: run `npm run build` (or `node scripts/bundle-cli.mjs`)');
  });

  it('prints the version in package.json', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const { stdout } = await run(process.execPath, [CAIRN_BIN, '--version'], { env: childEnv() });
    assert.equal(stdout.trim(), version);
  });
});
