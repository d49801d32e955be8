import { PerformanceObserver } from 'node:perf_hooks';
import { cachedDataVersionTag, getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { active, inactive, type Verdict } from './verdict.js';

/**
 * The server's heap, bounded by flags V8 reads at run time (`cairn serve`
 * cannot pass flags to its own node); docs/performance.md has the history.
 *
 * - Full collections start only near the old generation's limit, not whenever
 *   the room left is small next to the young generation: a 2 GiB backup ran
 *   10 to 28 of them, up to 1 of the server's 2.5 CPU-seconds.
 * - That limit is 1.5× what the last full collection left live, not 2–4×:
 *   on S3, whose client leaves much behind per request, the server's 8 GiB
 *   restore peaked at 269 MB instead of 232.
 */
const FLAGS: readonly (readonly [name: string, value: number])[] = [
  ['incremental-marking-soft-trigger', 90],
  ['incremental-marking-hard-trigger', 95],
  ['heap-growing-percent', 50],
];

/** The young generation's cap, not V8's 32 MiB: a larger one only holds garbage longer (folder store, 2 GiB: server peak 214 → 185 MB, same CPU). */
export const YOUNG_GENERATION_CAP = 8 * 1024 * 1024;
const GROWTH = 2;

let verdict: Verdict | undefined;

/** Sets the server's heap policy once, if V8 knows its flags; whether it took them, and if not, why. */
export function boundTheServerHeap(): Verdict {
  return (verdict ??= apply());
}

function apply(): Verdict {
  for (const [name, value] of FLAGS) {
    if (!setFlag(name, value)) return inactive(`this V8 does not know --${name}`);
  }
  if (!setFlag('semi-space-growth-factor', GROWTH)) return inactive('this V8 does not know --semi-space-growth-factor');
  capYoungGeneration();
  return active(`V8 took ${FLAGS.map(([name, value]) => `--${name}=${value}`).join(' ')}, and the young generation stops growing at ${YOUNG_GENERATION_CAP >> 20} MiB`);
}

/**
 * V8 grows the young generation by --semi-space-growth-factor at a collection
 * when enough survives, up to a maximum fixed at start; the factor is read at
 * each growth, so after every collection it is set to 2 below half the cap and
 * to 1 (no growth) from there (V8 may have shrunk it meanwhile). Half, because
 * the collections' entries arrive after them: one more may double it first.
 */
function capYoungGeneration(): void {
  let growing = true;
  const observer = new PerformanceObserver(() => {
    const size = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    const grow = size < YOUNG_GENERATION_CAP / 2;
    if (grow === growing) return;
    growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? GROWTH : 1}`);
  });
  observer.observe({ entryTypes: ['gc'] });
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
