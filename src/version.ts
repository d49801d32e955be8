import { readFileSync } from 'node:fs';

/** The package version, read once from Cairn's package.json above the compiled tree. */
export const VERSION: string = (() => {
  // From the CLI bundle in dist/src/cli/ (how every command runs), from
  // dist/src/version.js, and from src/version.ts. Only Cairn's own counts: a
  // candidate one level too high may be some other project's package.json.
  for (const rel of ['../../../package.json', '../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cairn' && pkg.version) return pkg.version;
    } catch {
      // Not there, or not JSON: try the next location.
    }
  }
  return '0.0.0';
})();
