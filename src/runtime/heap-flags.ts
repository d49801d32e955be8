import { cachedDataVersionTag, setFlagsFromString } from 'node:v8';
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
