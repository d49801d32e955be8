import { PerformanceObserver } from 'node:perf_hooks';
import { cachedDataVersionTag, getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { active, inactive, type Verdict } from './verdict.js';

/**
 * Lets V8 start a full (mark-compact) collection only when the old generation
 * nears its limit, not whenever the room left is small next to the young
 * generation: a server taking a 2 GiB backup ran 10 to 28 full collections of
 * a 22 MB heap, up to 1 of its 2.5 CPU-seconds. V8 reads the flags at every
 * allocation-limit check, so setting them at run time takes effect.
 */
const FLAGS: readonly (readonly [name: string, value: number])[] = [
  ['incremental-marking-soft-trigger', 90],
  ['incremental-marking-hard-trigger', 95],
];

let verdict: Verdict | undefined;

/** Sets the flags once, if V8 knows them; whether it took them, and if not, why. */
export function startFullCollectionsNearTheLimit(): Verdict {
  return (verdict ??= setFlags());
}

function setFlags(): Verdict {
  for (const [name, value] of FLAGS) {
    if (!setFlag(name, value)) return inactive(`this V8 does not know --${name}`);
  }
  return active(`V8 took ${FLAGS.map(([name, value]) => `--${name}=${value}`).join(' ')}`);
}

/**
 * Where a server's young generation (both semi-spaces) stops growing: V8's
 * default maximum here is 32 MiB, which only holds what the S3 client leaves
 * behind longer (the 8 GiB restore's server peak on RGW: 251 → 239 MB).
 * It cost HTTPS 0.5 CPU-s per 2 GiB until TLS records were read into the
 * slots (tls-reads.ts); docs/performance.md has both.
 */
export const YOUNG_GENERATION_LIMIT = 16 * 1024 * 1024;
const GROWTH = 2;

let capped: Verdict | undefined;

/**
 * Stops the young generation growing at YOUNG_GENERATION_LIMIT, once. V8
 * fixes its maximum at start (`cairn serve` cannot pass flags to its own
 * node) but reads --semi-space-growth-factor at each growth: after every
 * collection a `gc` observer sets it to 1 from the limit on, and back to 2
 * below it (V8 may have shrunk the space meanwhile).
 */
export function capTheYoungGeneration(): Verdict {
  return (capped ??= cap());
}

function cap(): Verdict {
  if (!setFlag('semi-space-growth-factor', GROWTH)) return inactive('this V8 does not know --semi-space-growth-factor');
  let growing = true;
  new PerformanceObserver(() => {
    const size = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    const grow = size < YOUNG_GENERATION_LIMIT;
    if (grow === growing) return;
    growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? GROWTH : 1}`);
  }).observe({ entryTypes: ['gc'] });
  return active(`the young generation stops growing at ${YOUNG_GENERATION_LIMIT >> 20} MiB (--semi-space-growth-factor, set after each collection)`);
}

/**
 * Sets `--name=value` and says whether V8 knows the flag: it says nothing
 * (beyond a line on stderr) about one it does not, but the code cache's
 * version tag hashes every flag's value, so a flag it knows changes the tag
 * when set to another value.
 */
function setFlag(name: string, value: number): boolean {
  const before = cachedDataVersionTag();
  setFlagsFromString(`--${name}=${value + 1}`);
  const probed = cachedDataVersionTag();
  setFlagsFromString(`--${name}=${value}`);
  return probed !== before || cachedDataVersionTag() !== probed;
}
