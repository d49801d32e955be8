import { sql, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { badRequest } from '../domain/errors.js';
import { pageRows, type PageRequest } from '../domain/page.js';

/** One column of a list's order; the last must make the order total (an ID). */
export type SortKey = readonly [column: string, direction: 'asc' | 'desc'];

/**
 * "The row sorts after `key`" in the order `sort`: (a after k₁) or (a = k₁ and
 * (b after k₂ …)). Written out rather than as a row comparison because the
 * directions may differ, and SQLite's planner uses an index for this form too.
 */
export function sortsAfter(sort: readonly SortKey[], key: string[]): RawBuilder<SqlBool> {
  if (key.length !== sort.length) throw new RangeError(`A cursor of ${key.length} values for an order of ${sort.length} columns.`);
  const [[column, direction], ...rest] = sort as [SortKey, ...SortKey[]];
  const ref = sql.ref(column);
  const past = direction === 'desc' ? sql<SqlBool>`${ref} < ${key[0]}` : sql<SqlBool>`${ref} > ${key[0]}`;
  if (!rest.length) return past;
  return sql<SqlBool>`(${past} or (${ref} = ${key[0]} and ${sortsAfter(rest, key.slice(1))}))`;
}

/**
 * The rows a page can draw from, in the order `sort`: those after the cursor's
 * key (or all, paging by offset), as many as the page and its offset need plus
 * one, which says whether a next page exists. Each part of a list that is the
 * union of several (see EventsService.list) is cut this way, so each is read
 * from its own index in order and no further than the page needs.
 */
export function pageSource<DB, TB extends keyof DB, O>(qb: SelectQueryBuilder<DB, TB, O>, sort: readonly SortKey[], page: PageRequest): SelectQueryBuilder<DB, TB, O> {
  let q = qb;
  if (page.after) {
    if (page.after.length !== sort.length) throw badRequest('The cursor belongs to another list; pass the next_cursor of this one.', 'cursor');
    q = q.where(sortsAfter(sort, page.after));
  }
  for (const [column, direction] of sort) q = q.orderBy(sql.ref(column), direction);
  return q.limit((page.after ? 0 : page.offset) + page.limit + 1);
}

/**
 * One page of a list in the order `sort`: after the cursor's key when the
 * request has one, else from the offset; with the cursor of the page after.
 */
export async function keysetPage<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  sort: readonly SortKey[],
  page: PageRequest,
  key: (row: O) => string[],
): Promise<{ rows: O[]; next_cursor: string | null }> {
  const rows = await pageSource(qb, sort, page).offset(page.after ? 0 : page.offset).execute();
  return pageRows(rows, page, key);
}

/** `rows` in the order of `ids` (a page's keys, read first), each once; IDs without a row are left out. */
export function inOrderOf<R extends { id: string }>(ids: string[], rows: R[]): R[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
