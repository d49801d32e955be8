import { GCProfiler, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { active, errorLine, inactive, type Verdict } from './verdict.js';

/**
 * Node hands every socket read to JavaScript as a malloc'd buffer of its own,
 * which V8 frees only at its next collection, late in a process that
 * allocates little else: a minor collection every 8 MiB read kept a process
 * reading 150 S3 objects 12 at a time at a 151 MB peak (172 at every 16 MiB).
 */
export const COLLECT_EVERY = 8 * 1024 * 1024;

let collector: { collect: (() => void) | null; verdict: Verdict } | undefined;
let sinceCollected = 0;

/** Counts bytes a body read took from a socket, collecting their buffers every COLLECT_EVERY bytes. */
export function noteBytesRead(length: number): void {
  sinceCollected += length;
  if (sinceCollected < COLLECT_EVERY) return;
  sinceCollected = 0;
  minorCollector().collect?.();
}

/** Whether this process can ask V8 for a minor collection, checked by asking for one and seeing it run. */
export function minorGcVerdict(): Verdict {
  return minorCollector().verdict;
}

function minorCollector(): { collect: (() => void) | null; verdict: Verdict } {
  return (collector ??= makeCollector());
}

// V8 offers `gc` only under --expose-gc, which `cairn …` cannot pass to its
// own node: the flag is set now, and the new context made after it has `gc`.
function makeCollector(): { collect: (() => void) | null; verdict: Verdict } {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return { collect: null, verdict: inactive(`--expose-gc gave no gc function (${typeof gc})`) };
    const collect = (): void => (gc as (options: { type: 'minor' }) => void)({ type: 'minor' });
    const profiler = new GCProfiler();
    profiler.start();
    collect();
    const ran = profiler.stop().statistics.map((s) => s.gcType);
    if (!ran.some((type) => /Scavenge|Minor/.test(type))) return { collect: null, verdict: inactive(`gc({ type: 'minor' }) ran no minor collection (${ran.join(', ') || 'none'})`) };
    return { collect, verdict: active('gc({ type: \'minor\' }), exposed at run time, ran a minor collection') };
  } catch (err) {
    return { collect: null, verdict: inactive(`--expose-gc: ${errorLine(err)}`) };
  }
}
