import { getCoreRowModel, getExpandedRowModel, useReactTable, type ColumnDef } from '@tanstack/react-table';
import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { useI18n } from '../i18n';

export interface DataTableProps<T> {
  /** Names the table for screen readers (visually hidden caption). */
  caption: string;
  columns: ColumnDef<T>[];
  data: T[];
  rowId(row: T): string;
  /** For trees (a chain's points): the children of a row; all rows start expanded. */
  subRows?(row: T): T[] | undefined;
  /** Marks rows, e.g. the head point. */
  rowClass?(row: T): string | undefined;
  loading?: boolean;
  /** Shown instead of the body when there are no rows and nothing is loading. */
  empty?: ReactNode;
  /**
   * Rows under headings (chains under their resource): consecutive rows of one group
   * share a <tbody> whose first row is the group's heading, spanning the table.
   */
  group?(row: T): { id: string; header: ReactNode };
}

/**
 * Cell renderers are called, not mounted as components (as flexRender does): the
 * column definitions are rebuilt when their inputs change, and a new component
 * type would replace every cell's DOM, losing the focused button under the user.
 */
function render<C>(r: unknown, ctx: C): ReactNode {
  return typeof r === 'function' ? (r as (c: C) => ReactNode)(ctx) : (r as ReactNode);
}

export function DataTable<T>({ caption, columns, data, rowId, subRows, rowClass, loading, empty, group }: DataTableProps<T>) {
  const { t } = useI18n();
  const table = useReactTable<T>({
    data,
    columns,
    getRowId: (r) => rowId(r),
    getCoreRowModel: getCoreRowModel(),
    ...(subRows ? { getSubRows: subRows, getExpandedRowModel: getExpandedRowModel(), state: { expanded: true as const } } : {}),
  });
  const rows = table.getRowModel().rows;
  // A table wider than its box (narrow screens) scrolls sideways: it then takes focus, so
  // the arrow keys scroll it, and is named as a region (axe: scrollable-region-focusable).
  const wrap = useRef<HTMLDivElement>(null);
  const [scrolls, setScrolls] = useState(false);
  useLayoutEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const check = () => setScrolls(el.scrollWidth > el.clientWidth + 1);
    check();
    const ro = new ResizeObserver(check);
    ro.observe(el);
    if (el.firstElementChild) ro.observe(el.firstElementChild);
    return () => ro.disconnect();
  }, []);
  return (
    <div ref={wrap} className="table-wrap" aria-busy={loading} {...(scrolls ? { tabIndex: 0, role: 'region', 'aria-label': caption } : {})}>
      <table className="table">
        <caption className="sr-only">{caption}</caption>
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>
              {hg.headers.map((h) => (
                <th key={h.id} scope="col" className={`col-${h.column.id}`}>
                  {h.isPlaceholder ? null : render(h.column.columnDef.header, h.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        {rows.length === 0 ? (
          <tbody>
            <tr>
              <td colSpan={columns.length} className="table-empty">
                {loading ? <span role="status">{t('common.loading')}</span> : empty}
              </td>
            </tr>
          </tbody>
        ) : (
          groupsOf(rows, group).map((g) => (
            <tbody key={g.id ?? 'all'} data-group-id={g.id}>
              {g.header !== undefined ? (
                <tr className="group-row" data-row-id={g.id}>
                  <th scope="rowgroup" colSpan={columns.length}>
                    {g.header}
                  </th>
                </tr>
              ) : null}
              {g.rows.map((row) => (
                <tr key={row.id} data-row-id={row.id} data-depth={row.depth} className={rowClass?.(row.original)}>
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id} className={`col-${cell.column.id}`}>
                      {render(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          ))
        )}
      </table>
    </div>
  );
}

function groupsOf<R extends { original: T }, T>(rows: R[], group: DataTableProps<T>['group']): { id?: string; header?: ReactNode; rows: R[] }[] {
  if (!group) return [{ rows }];
  const out: { id: string; header: ReactNode; rows: R[] }[] = [];
  for (const row of rows) {
    const g = group(row.original);
    const last = out[out.length - 1];
    if (last && last.id === g.id) last.rows.push(row);
    else out.push({ ...g, rows: [row] });
  }
  return out;
}
