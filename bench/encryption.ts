// Encryption at rest against none (issue 30), in one run on one disk:
//
//   npm run bench:encryption -- [--quick] [--rounds N] [--seed S] [--cairn DIR]   (bench/pair.ts; target ≤ 1.10×)
//
// One server with a master key (`--master-key-file`, a key made by the build's
// own `cairn admin master-key new`), one without.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './measure.js';
import { runPair } from './pair.js';

await runPair({
  title: 'Cairn with its chunks encrypted at rest against without',
  results: 'encryption',
  variants: ['plain', 'encrypted'],
  target: 1.1,
  async prepare(work, build) {
    const masterKeyFile = join(work, 'keys', 'master.key');
    await mkdir(join(work, 'keys'));
    await run(process.execPath, [join(build, 'bin', 'cairn.js'), 'admin', 'master-key', 'new', masterKeyFile]);
    return { plain: {}, encrypted: { masterKeyFile } };
  },
});
