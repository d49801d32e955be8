import { createRequire } from 'node:module';
import { errorLine, inactive, active, type Verdict } from './verdict.js';

export type NativeHelper = 'disk_io' | 'chunk' | 'malloc_tuning';

/** Every native helper native/ builds (binding.gyp's targets). */
export const NATIVE_HELPERS: readonly NativeHelper[] = ['disk_io', 'chunk', 'malloc_tuning'];

const loaded = new Map<NativeHelper, { addon: unknown; verdict: Verdict }>();

/**
 * One of Cairn's native helpers in build/Release (built from native/ by
 * `npm install` through node-gyp), or null where it was not built or does not
 * load into this Node: every caller has a slower way without it.
 */
export function loadNativeHelper<T>(name: NativeHelper): T | null {
  return load(name).addon as T | null;
}

/** Whether the helper loaded, and if not, why. */
export function nativeHelperVerdict(name: NativeHelper): Verdict {
  return load(name).verdict;
}

function load(name: NativeHelper): { addon: unknown; verdict: Verdict } {
  let entry = loaded.get(name);
  if (!entry) {
    const file = `build/Release/${name}.node`;
    try {
      // From dist/src/runtime/, where this module runs (or the CLI bundle beside it), up to the package root.
      entry = { addon: createRequire(import.meta.url)(`../../../${file}`), verdict: active(`${file} loaded`) };
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
      entry = { addon: null, verdict: inactive(missing ? `${file} was not built: run \`npm install\` (node-gyp)` : `${file} does not load: ${errorLine(err)}`) };
    }
    loaded.set(name, entry);
  }
  return entry;
}
