#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js, from tsc) into one module,
// dist/src/cli/cairn.bundle.js, which bin/cairn.js runs, plus the chunks it
// loads on demand (the server's, for `cairn serve`).
//
// Why: node resolves, reads and compiles each ES module on its own, and the
// CLI is about 90 of them. Every command paid for that before doing anything:
// `cairn --version` took 0.13 s warm and 0.28 s right after the page cache was
// dropped (as before every step of the benchmark), and 0.09 s and 0.21 s
// bundled (medians of 20 and 5 runs on a 2-core VM; `node -e 0` takes 0.03 s).
//
// The bundle sits next to the modules it was made from, at the same depth, so
// the paths that modules find relative to themselves (the native helpers in
// build/Release, the web console in web/dist, package.json) hold for it too.
// Packages stay outside (node_modules), except commander, which every command
// loads at start: the native ones (better-sqlite3, zstd-napi) cannot be bundled,
// and the server's (fastify, kysely, pg) load only with it.
//
//   node scripts/bundle-cli.mjs
import { rolldown } from 'rolldown';
import { fileURLToPath } from 'node:url';

const CLI_DIR = fileURLToPath(new URL('../dist/src/cli/', import.meta.url));
const BUNDLED_PACKAGES = ['commander'];

const isPackage = (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('node:');
const bundled = (id) => BUNDLED_PACKAGES.some((name) => id === name || id.startsWith(`${name}/`));

const bundle = await rolldown({
  input: { cairn: `${CLI_DIR}main.js` },
  platform: 'node',
  external: (id) => id.startsWith('node:') || (isPackage(id) && !bundled(id)),
  logLevel: 'warn',
});
try {
  await bundle.write({
    dir: CLI_DIR,
    format: 'esm',
    entryFileNames: '[name].bundle.js',
    chunkFileNames: '[name].bundle-chunk.js',
  });
} finally {
  await bundle.close();
}
