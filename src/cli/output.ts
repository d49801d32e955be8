import type Table from 'cli-table3';
import type { Page } from '../domain/page.js';
import { lazily } from './lazy-require.js';

const table3 = lazily<typeof Table>('cli-table3');

export type Cell = string | number | boolean | null | undefined;

export interface Column<T> {
  header: string;
  value: (item: T) => Cell;
  align?: 'left' | 'right';
}

export interface OutputOptions {
  /** Print the server's JSON answer as is, and nothing else, for scripts. */
  json?: boolean;
  /** Where lines go; stdout unless a test collects them. */
  write?: (text: string) => void;
}

export interface ListOptions extends OutputOptions {
  /** The offset the page was asked for; the footer counts from it. */
  offset?: number;
  /** Plural noun for the footer, e.g. "resources". */
  noun?: string;
}

const stdout = (text: string) => void process.stdout.write(text);

export function printJson(value: unknown, opts: OutputOptions = {}): void {
  (opts.write ?? stdout)(`${JSON.stringify(value ?? null, null, 2)}\n`);
}

/** One page of a list: a table plus "showing X–Y of N", or the raw page with --json. */
export function printList<T>(page: Page<T>, columns: Column<T>[], opts: ListOptions = {}): void {
  if (opts.json) return printJson(page, opts);
  const write = opts.write ?? stdout;
  if (page.items.length > 0) {
    write(
      renderTable(
        columns.map((c) => c.header.toUpperCase()),
        page.items.map((item) => columns.map((c) => cellText(c.value(item)))),
        columns.map((c) => c.align ?? 'left'),
      ),
    );
  }
  write(`${listFooter(page.total_count, opts.offset ?? 0, page.items.length, opts.noun ?? 'items')}\n`);
}

/** One object as label/value rows, or the raw answer with --json. */
export function printObject(raw: unknown, rows: [label: string, value: Cell][], opts: OutputOptions = {}): void {
  if (opts.json) return printJson(raw, opts);
  const table = new (table3())(PLAIN);
  for (const [label, value] of rows) table.push([`${label}:`, cellText(value)]);
  (opts.write ?? stdout)(`${trimLines(table.toString())}\n`);
}

/** A message for people; with --json it is left out so stdout stays parseable. */
export function printMessage(text: string, opts: OutputOptions = {}): void {
  if (!opts.json) (opts.write ?? stdout)(`${text}\n`);
}

export function listFooter(total: number, offset: number, count: number, noun: string): string {
  if (total === 0) return `no ${noun}`;
  if (count === 0) return `no ${noun} at offset ${offset}; there are ${total}, try a smaller --offset`;
  const last = offset + count;
  const more = last < total ? `; next page: --offset ${last}` : '';
  return `showing ${offset + 1}–${last} of ${total} ${noun}${more}`;
}

export function renderTable(head: string[], rows: string[][], aligns?: ('left' | 'right')[]): string {
  // cli-table3 fails on an empty head array; a headless table simply omits it.
  const table = new (table3())({ ...PLAIN, ...(head.length > 0 ? { head } : {}), ...(aligns ? { colAligns: aligns } : {}) });
  for (const row of rows) table.push(row);
  return `${trimLines(table.toString())}\n`;
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Powers of 1024, as disk sizes are given; three significant digits are enough to read. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-';
  const sign = bytes < 0 ? '-' : '';
  let n = Math.abs(bytes);
  if (n < 1024) return `${sign}${n} B`;
  let unit = -1;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  const digits = n >= 100 ? 0 : n >= 10 ? 1 : 2;
  // toFixed then Number drops trailing zeros: "20 GiB", not "20.0 GiB".
  return `${sign}${Number(n.toFixed(digits))} ${UNITS[unit]}`;
}

/** Local time to the second; with `relative`, also how long ago (or how far ahead). */
export function formatTime(iso: string | null | undefined, opts: { relative?: boolean; now?: number } = {}): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  const text = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return opts.relative ? `${text} (${formatAge(d.getTime(), opts.now ?? Date.now())})` : text;
}

export function formatAge(then: number, now: number): string {
  const s = Math.round((now - then) / 1000);
  const a = Math.abs(s);
  const span =
    a < 5 ? null
    : a < 60 ? `${a} s`
    : a < 3600 ? `${Math.floor(a / 60)} min`
    : a < 86400 ? `${Math.floor(a / 3600)} h`
    : `${Math.floor(a / 86400)} d`;
  if (!span) return 'just now';
  return s >= 0 ? `${span} ago` : `in ${span}`;
}

function cellText(v: Cell): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

// Borderless and colourless: readable in a terminal, and IDs copy cleanly into the next command.
const PLAIN = {
  chars: {
    top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
    bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
    left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
  },
  style: { 'padding-left': 0, 'padding-right': 0, head: [] as string[], border: [] as string[] },
};

function trimLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .join('\n');
}
