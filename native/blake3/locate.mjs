// Tells binding.gyp where BLAKE3's official C implementation is, as Debian
// ships it (package librust-blake3-dev, /usr/share/cargo/registry/blake3-*/c;
// $BLAKE3_C_DIR names another copy), and what it needs defined on this CPU.
// The upstream_* files include its sources from that directory. Without one,
// CAIRN_NO_BLAKE3 leaves the addon empty and the chunk hash falls back to
// WebAssembly (src/format/chunk-hash.ts).
//
//   node native/blake3/locate.mjs include|defines
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function findDir() {
  if (process.env.BLAKE3_C_DIR) return existsSync(join(process.env.BLAKE3_C_DIR, 'blake3.h')) ? process.env.BLAKE3_C_DIR : null;
  const registry = '/usr/share/cargo/registry';
  if (!existsSync(registry)) return null;
  const versions = readdirSync(registry)
    .filter((name) => /^blake3-\d+\.\d+\.\d+$/.test(name) && existsSync(join(registry, name, 'c', 'blake3.h')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return versions.length ? join(registry, versions[versions.length - 1], 'c') : null;
}

const dir = findDir();
let defines;
if (!dir) defines = ['CAIRN_NO_BLAKE3'];
// x86-64 Unix links the SSE2 to AVX-512 assembly, and BLAKE3 picks one at run time.
else if (process.arch === 'x64' && process.platform !== 'win32') defines = [];
else if (process.arch === 'arm64') defines = ['BLAKE3_USE_NEON=1'];
else defines = ['BLAKE3_NO_SSE2', 'BLAKE3_NO_SSE41', 'BLAKE3_NO_AVX2', 'BLAKE3_NO_AVX512'];

const what = process.argv[2];
if (what === 'include') console.log(dir ?? '');
else if (what === 'defines') console.log(defines.join(' '));
else throw new Error('usage: node native/blake3/locate.mjs include|defines');
