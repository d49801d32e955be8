import type { Command } from 'commander';
import { badRequest } from '../domain/errors.js';
import { MAX_LIMIT } from '../domain/page.js';
import type { GlobalOptions } from './config-file.js';
import type { PageQuery } from './http-client.js';

const POWERS: Record<string, number> = { '': 0, B: 0, K: 1, M: 2, G: 3, T: 4, P: 5 };

/**
 * A size in bytes, or with a K/M/G/T/P suffix meaning powers of 1024 ("20G",
 * "1.5TiB", "512Mi"). Decimal units (GB, "1e9") are refused rather than guessed at,
 * since a disk declared a few percent too small would not fit its data.
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGTP])(?:iB?)?|(B)?)\s*$/i.exec(text);
  if (!m) {
    const hint = /^\s*[\d.]+\s*[KMGTP]B\s*$/i.test(text) ? ' Sizes use powers of 1024: write G or GiB, not GB.' : '';
    throw badRequest(`"${text}" is not a size: give bytes or a number with K, M, G or T (powers of 1024), e.g. 20G.${hint}`, 'size');
  }
  const power = POWERS[(m[2] ?? m[3] ?? '').toUpperCase()] ?? 0;
  const bytes = Number(m[1]) * 1024 ** power;
  if (!Number.isSafeInteger(bytes)) {
    throw badRequest(
      bytes > Number.MAX_SAFE_INTEGER ? `The size "${text}" is too large.` : `The size "${text}" is not a whole number of bytes; use a smaller unit.`,
      'size',
    );
  }
  if (bytes <= 0) throw badRequest(`The size "${text}" must be more than zero.`, 'size');
  return bytes;
}

/** `name:size`; the size is after the last colon, so a name may hold colons. */
export function parseDisk(spec: string): { name: string; size: number } {
  const at = spec.lastIndexOf(':');
  const name = at > 0 ? spec.slice(0, at).trim() : '';
  if (at < 0 || !name || at === spec.length - 1)
    throw badRequest(`--disk "${spec}" must be name:size, e.g. --disk root:20G.`, 'disk');
  try {
    return { name, size: parseSize(spec.slice(at + 1)) };
  } catch (err) {
    throw badRequest(`--disk "${spec}": ${(err as Error).message}`, 'disk');
  }
}

/** A whole number from a flag, checked here so that the message names the flag. */
export function parseCount(text: string | undefined, flag: string, range: { min?: number; max?: number } = {}): number | undefined {
  if (text === undefined) return undefined;
  const min = range.min ?? 0;
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || (range.max !== undefined && n > range.max)) {
    const upper = range.max !== undefined ? ` to ${range.max}` : ' or more';
    throw badRequest(`${flag} must be a whole number from ${min}${upper}, not "${text}".`, flag.replace(/^-+/, ''));
  }
  return n;
}

/** A duration in seconds, fractions allowed ("--timeout 1.5"). */
export function parseSeconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw badRequest(`${flag} must be a number of seconds above zero, not "${text}".`, flag.replace(/^-+/, ''));
  return n;
}

export interface PageFlags {
  offset?: string;
  limit?: string;
}

export function addPageOptions(cmd: Command): Command {
  return cmd
    .option('--offset <n>', 'skip this many items (for the next page)')
    .option('--limit <n>', `items per page, 1 to ${MAX_LIMIT} (default 20)`);
}

export function pageQuery(flags: PageFlags): PageQuery {
  return { offset: parseCount(flags.offset, '--offset'), limit: parseCount(flags.limit, '--limit', { min: 1, max: MAX_LIMIT }) };
}

/** Repeatable options gather into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The options of a command merged with the program's --server, --token and --json. */
export function globalsOf<T extends object = object>(cmd: Command): T & GlobalOptions {
  return cmd.optsWithGlobals<T & GlobalOptions>();
}

/** Deletions are not undoable, so they must be confirmed explicitly, in scripts too. */
export function requireYes(yes: boolean | undefined, what: string, consequence: string): void {
  if (!yes) throw badRequest(`Refusing to delete ${what} without --yes: ${consequence} Run the command again with --yes to confirm.`, 'yes');
}
