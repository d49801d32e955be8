import { readFileSync } from 'node:fs';

/** The package version, read once from package.json next to the compiled tree. */
export const VERSION: string = (() => {
  // From dist/src/version.js, from the CLI bundle in dist/src/cli/, and from src/version.ts.
  for (const rel of ['../../package.json', '../../../package.json', '../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // Try the next location.
    }
  }
  return '0.0.0';
})();
