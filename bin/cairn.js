#!/usr/bin/env node
// CommonJS (bin/package.json), so that nothing has touched libuv's thread pool
// when its size is set below: node loads an ES module entry with the pool's
// help, and the pool takes its size once, at its first job.
//
// The pool runs at most one chunk job per core (src/engine/native-pool.ts);
// its other threads wait on the disk: a backup's five direct reads in flight
// (src/engine/backup-pipeline.ts), a server's blob writes and fsyncs. With
// libuv's default of four on two cores, compression held two threads and the
// reads had two left: a full backup of the benchmark disk read at half the
// rate an incremental one does, and its main thread waited on reads half the
// time. With eight, it was faster in 14 of 18 A/B pairs (medians 2.55 -> 2.49 s
// and 2.18 -> 2.04 s).
process.env.UV_THREADPOOL_SIZE ??= String(require('node:os').availableParallelism() + 6);

// The CLI as one bundled module (scripts/bundle-cli.mjs), which starts faster
// than its ~90 compiled modules loaded one by one.
import('../dist/src/cli/cairn.bundle.js');
