// What Cairn asks of Node, V8 and the C library beyond their public APIs:
// each trick checks its behaviour once, before it is relied on, and falls
// back to the plain path with a reason when the check fails (runtimeTricks).
export { contextTrusting } from './ca-context.js';
export { capTheYoungGeneration, startFullCollectionsNearTheLimit, YOUNG_GENERATION_LIMIT } from './heap-flags.js';
export { adviseHugePages, canAdviseHugePages, HUGE_PAGE_SIZE, retainFreedMemory } from './malloc-tuning.js';
export { COLLECT_EVERY, noteBytesRead } from './minor-gc.js';
export { loadNativeHelper } from './native-helpers.js';
export { runtimeTricks } from './report.js';
export { oneBufferAgent } from './response-reads.js';
export { checkSocketReads, readsInto, type ReadsIntoOptions } from './socket-reads.js';
export { checkTlsReads } from './tls-reads.js';
export { sealBuffersWhereTheyLie } from './tls-writes.js';
export type { Verdict } from './verdict.js';
