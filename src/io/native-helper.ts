import { createRequire } from 'node:module';

/**
 * One of Cairn's native helpers in build/Release (built from native/ by
 * `npm install` through node-gyp), or null where it was not built: every
 * caller has a slower way without it.
 */
export function loadNativeHelper<T>(name: 'disk_io' | 'chunk' | 'malloc_tuning'): T | null {
  try {
    // From dist/src/io/, where this module runs, up to the package root.
    return createRequire(import.meta.url)(`../../../build/Release/${name}.node`) as T;
  } catch {
    return null;
  }
}
