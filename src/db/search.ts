import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * "Column contains the text", case-insensitive, with `%`, `_` and `\` in the
 * text taken literally (both engines honour the ESCAPE clause).
 */
export function contains(column: string, text: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${likePattern(text)} escape '\\'`;
}

/** `%text%`, lowercased, with `%`, `_` and `\` in the text taken literally. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Any of the columns contains the text. */
export function anyContains(columns: string[], text: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.join(columns.map((c) => contains(c, text)), sql` or `)})`;
}

/** Between the parts of a kept search text: a control character, so that a search matches within one part. */
export const SEARCH_SEPARATOR = '\u001f';

/**
 * What a recipient's search of Shared backups matches, kept on each share
 * (shares.search_text) so the search reads the recipient's list index alone:
 * the chain's name and ID, its resource's ID, the owner's email, lowercased.
 * Whoever changes one of them (a chain's name) writes it again.
 */
export function shareSearchText(chain: { id: string; name: string; resource_id: string }, ownerEmail: string): string {
  return [chain.name, chain.id, chain.resource_id, ownerEmail].map((p) => p.toLowerCase()).join(SEARCH_SEPARATOR);
}

/** "The kept, lowercased text contains the text": as contains(), without lowering the column on every row. */
export function keptTextContains(column: string, text: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} like ${likePattern(text)} escape '\\'`;
}
