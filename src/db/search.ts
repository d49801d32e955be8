import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * "Column contains the text", case-insensitive, with `%`, `_` and `\` in the
 * text taken literally (both engines honour the ESCAPE clause).
 */
export function contains(column: string, text: string): RawBuilder<SqlBool> {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

/** Any of the columns contains the text. */
export function anyContains(columns: string[], text: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.join(columns.map((c) => contains(c, text)), sql` or `)})`;
}
