import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
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
    assert.match(await readFile(CAIRN_BIN, 'utf8'), /import\('\.\.\/dist\/src\/cli\/cairn\.bundle\.js'\);/);
    const [bundle, main] = await Promise.all([stat(join(CLI_DIR, 'cairn.bundle.js')), stat(join(CLI_DIR, 'main.js'))]);
    assert.ok(bundle.mtimeMs >= main.mtimeMs, 'cairn.bundle.js is older than main.js: run `npm run build` (or `node scripts/bundle-cli.mjs`)');
  });

  it('prints the version in package.json', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const { stdout } = await run(process.execPath, [CAIRN_BIN, '--version'], { env: childEnv() });
    assert.equal(stdout.trim(), version);
  });

  // bin/cairn.js sets UV_THREADPOOL_SIZE before anything starts libuv's pool.
  // A probe loaded ahead of it reports, as the CLI exits, the size it saw and
  // the threads the process has, which differ only by the pool's size.
  it('sizes libuv\'s thread pool before anything has started it: a thread per core for chunk jobs, six to wait on the disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-pool-'));
    try {
      const probe = join(dir, 'probe.cjs');
      await writeFile(
        probe,
        // The probe starts the pool once bin/cairn.js has run: Node 20's module loader starts it
        // then anyway; Node 24's reads modules synchronously, and `--version` alone never does.
        // Node 24 names the pool's threads (and an unnamed one may come and go at exit); Node 20 names none.
        "process.nextTick(() => require('fs').stat(__filename, () => {})); " +
          "process.on('exit', () => { const fs = require('fs'); " +
          "const names = fs.readdirSync('/proc/self/task').map((t) => fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim()); " +
          "const threads = names.includes('libuv-worker') ? names.filter((n) => n === 'libuv-worker').length : names.length; " +
          'process.stderr.write(JSON.stringify({ size: process.env.UV_THREADPOOL_SIZE, threads })); });',
      );
      const probed = async (env: NodeJS.ProcessEnv): Promise<{ size: string; threads: number }> => {
        const { stderr } = await run(process.execPath, ['--require', probe, CAIRN_BIN, '--version'], { env });
        return JSON.parse(stderr) as { size: string; threads: number };
      };
      const unset = childEnv();
      delete unset.UV_THREADPOOL_SIZE;
      const sized = await probed(unset);
      assert.equal(sized.size, String(availableParallelism() + 6));
      const four = await probed(childEnv({ UV_THREADPOOL_SIZE: '4' }));
      assert.equal(four.size, '4', "an operator's setting is kept");
      assert.equal(sized.threads - four.threads, availableParallelism() + 6 - 4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
