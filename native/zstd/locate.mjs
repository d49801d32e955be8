// Tells binding.gyp where zstd's sources are: the copy that the zstd-napi
// package ships (deps/zstd), built by that package's own gyp file into this
// addon, so that the chunk jobs (native/chunk_jobs.c) compress and decompress
// with the very zstd the JavaScript fallback uses. Without it, CAIRN_NO_ZSTD
// leaves those jobs out and chunks are compressed in worker threads
// (src/compute/worker-pool.ts).
//
//   node native/zstd/locate.mjs gyp|defines
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

function findGyp() {
  try {
    const root = dirname(createRequire(import.meta.url).resolve('zstd-napi/package.json'));
    const gyp = join(root, 'deps', 'zstd.gyp');
    return existsSync(gyp) && existsSync(join(root, 'deps', 'zstd', 'lib', 'zstd.h')) ? gyp : null;
  } catch {
    return null;
  }
}

const gyp = findGyp();
const what = process.argv[2];
// gyp names a dependency as file:target.
if (what === 'gyp') console.log(gyp ? `${gyp}:libzstd` : '');
else if (what === 'defines') console.log(gyp ? '' : 'CAIRN_NO_ZSTD');
else throw new Error('usage: node native/zstd/locate.mjs gyp|defines');
