#!/usr/bin/env node
// CommonJS (bin/package.json), so that nothing has touched libuv's thread pool
// when its size is set below: Node 20 loads an ES module entry with the pool's
// help, and the pool takes its size once, at its first job.
//
// One thread per core for chunk jobs (src/compute/native-pool.ts), six more that
// wait on the disk: with libuv's four, a full backup's reads waited behind
// compression (14 of 18 A/B pairs faster; docs/performance.md).
process.env.UV_THREADPOOL_SIZE ??= String(require('node:os').availableParallelism() + 6);

// The CLI as one bundled module (scripts/bundle-cli.mjs), which starts faster
// than its ~90 compiled modules loaded one by one.
import('../dist/src/cli/cairn.bundle.js');
