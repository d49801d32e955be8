// Tells binding.gyp where BLAKE3's official C implementation is, as Debian
// ships it (package librust-blake3-dev, /usr/share/cargo/registry/blake3-*/c;
// $BLAKE3_C_DIR names another copy), and which of its files suit this CPU.
// Prints nothing when there is none: the addon then builds without it and the
// chunk hash falls back to WebAssembly (src/engine/chunk-hash.ts).
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

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
const what = process.argv[2];
if (!dir) {
  if (what === 'defines') console.log('CAIRN_NO_BLAKE3');
  process.exit(0);
}
const common = ['blake3.c', 'blake3_dispatch.c', 'blake3_portable.c'];
let files = common;
let defines = [];
if (process.arch === 'x64' && process.platform !== 'win32') {
  // The assembly flavours: faster than the intrinsics, and no per-file compiler flags.
  files = [...common, 'blake3_sse2_x86-64_unix.S', 'blake3_sse41_x86-64_unix.S', 'blake3_avx2_x86-64_unix.S', 'blake3_avx512_x86-64_unix.S'];
} else if (process.arch === 'arm64') {
  files = [...common, 'blake3_neon.c'];
  defines = ['BLAKE3_USE_NEON=1'];
} else {
  defines = ['BLAKE3_NO_SSE2', 'BLAKE3_NO_SSE41', 'BLAKE3_NO_AVX2', 'BLAKE3_NO_AVX512'];
}
// gyp names object files after their sources and only manages relative paths.
const root = fileURLToPath(new URL('..', import.meta.url));
if (what === 'sources') console.log(files.map((f) => relative(root, join(dir, f))).join(' '));
else if (what === 'include') console.log(dir);
else if (what === 'defines') console.log(defines.join(' '));
