import { caContextVerdict } from './ca-context.js';
import { capTheYoungGeneration, startFullCollectionsNearTheLimit } from './heap-flags.js';
import { hugePagesVerdict, retainFreedMemoryVerdict } from './malloc-tuning.js';
import { minorGcVerdict } from './minor-gc.js';
import { NATIVE_HELPERS, nativeHelperVerdict } from './native-helpers.js';
import { checkResponseReads } from './response-reads.js';
import { checkSocketReads } from './socket-reads.js';
import { checkTlsReads } from './tls-reads.js';
import { tlsWritesVerdict } from './tls-writes.js';
import type { Verdict } from './verdict.js';

/**
 * Every trick this module plays on Node, V8 and the C library, by name, each
 * checked (and so applied) now if it was not yet: whether it took effect in
 * this process, and why (not).
 */
export async function runtimeTricks(): Promise<Record<string, Verdict>> {
  return {
    ...Object.fromEntries(NATIVE_HELPERS.map((name) => [`native:${name}`, nativeHelperVerdict(name)])),
    'socket-reads': await checkSocketReads(),
    'response-reads': await checkResponseReads(),
    'minor-gc': minorGcVerdict(),
    'heap-flags': startFullCollectionsNearTheLimit(),
    'young-generation': capTheYoungGeneration(),
    'malloc-retain': retainFreedMemoryVerdict(),
    'huge-pages': hugePagesVerdict(),
    'ca-context': caContextVerdict(),
    'tls-reads': await checkTlsReads(),
    'tls-writes': tlsWritesVerdict(),
  };
}
