import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded at its first use instead of when the CLI starts:
 * every command pays for what it imports before it does anything, and most
 * commands print neither a table nor a progress bar.
 */
export function lazily<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
