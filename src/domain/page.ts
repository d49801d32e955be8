import { badRequest } from './errors.js';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export interface PageRequest {
  offset: number;
  limit: number;
  /**
   * The sort key of the last item of the previous page, from its `next_cursor`;
   * null for a page by offset. A page after a key costs the same at any depth,
   * where an offset makes the database walk every row it skips.
   */
  after?: string[] | null;
}

export interface Page<T> {
  total_count: number;
  items: T[];
  /** Where the next page starts (`cursor=` of the next request); null on the last page. Lists that sort by key give it. */
  next_cursor?: string | null;
}

export function pageOf(q: { offset?: number; limit?: number; cursor?: string }): PageRequest {
  if (q.cursor !== undefined && q.offset) throw badRequest('Give a cursor or an offset, not both: the cursor already says where the page starts.', 'cursor');
  return { offset: q.offset ?? 0, limit: Math.min(q.limit ?? DEFAULT_LIMIT, MAX_LIMIT), after: q.cursor === undefined ? null : decodeCursor(q.cursor) };
}

/**
 * The cursor that names a sort key: opaque to clients, who only hand it back.
 * Hex of the key's JSON, safe in a URL as it is (and this module runs in the console's type check too, without Buffer).
 */
export function encodeCursor(key: string[]): string {
  return Array.from(new TextEncoder().encode(JSON.stringify(key)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function decodeCursor(cursor: string): string[] {
  let key: unknown = null;
  if (/^(?:[0-9a-f]{2})+$/.test(cursor)) {
    try {
      const bytes = Uint8Array.from(cursor.match(/../g)!, (h) => parseInt(h, 16));
      key = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      key = null;
    }
  }
  if (!Array.isArray(key) || key.length === 0 || !key.every((k) => typeof k === 'string'))
    throw badRequest('The cursor is not one this server hands out: pass a list\'s next_cursor as it came, or start again from the first page.', 'cursor');
  return key as string[];
}

/**
 * The page's items out of rows fetched with one row more than the limit (see
 * `keysetPage`): that extra row, if it came, says a next page exists.
 */
export function pageRows<R>(rows: R[], page: PageRequest, key: (row: R) => string[]): { rows: R[]; next_cursor: string | null } {
  if (rows.length <= page.limit) return { rows, next_cursor: null };
  const kept = rows.slice(0, page.limit);
  return { rows: kept, next_cursor: encodeCursor(key(kept[kept.length - 1]!)) };
}
