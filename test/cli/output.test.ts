import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAge, formatBytes, formatTime, listFooter, printList, printObject, type Column } from '../../src/cli/output.js';

// Local time is what people read; the tests pin the zone so they pass anywhere.
process.env.TZ = 'UTC';

describe('formatBytes', () => {
  it('uses powers of 1024 with about three significant digits', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(512 * 1024 ** 2), '512 MiB');
    assert.equal(formatBytes(20 * 1024 ** 3), '20 GiB');
    assert.equal(formatBytes(1.25 * 1024 ** 3), '1.25 GiB');
    assert.equal(formatBytes(12.34 * 1024 ** 3), '12.3 GiB');
    assert.equal(formatBytes(64 * 1024 ** 4), '64 TiB');
    assert.equal(formatBytes(1023.99 * 1024 ** 2), '1024 MiB');
  });

  it('shows a dash for nothing', () => {
    assert.equal(formatBytes(null), '-');
    assert.equal(formatBytes(undefined), '-');
    assert.equal(formatBytes(Number.NaN), '-');
  });
});

describe('formatTime', () => {
  it('prints local time to the second', () => {
    assert.equal(formatTime('2025-03-04T05:06:07.890Z'), '2025-03-04 05:06:07');
    assert.equal(formatTime(null), '-');
    assert.equal(formatTime('not a time'), 'not a time');
  });

  it('adds how long ago when asked', () => {
    const now = Date.parse('2025-03-04T06:06:07Z');
    assert.equal(formatTime('2025-03-04T05:06:07Z', { relative: true, now }), '2025-03-04 05:06:07 (1 h ago)');
  });

  it('says how long ago in the largest whole unit', () => {
    const now = 1_000_000_000_000;
    assert.equal(formatAge(now - 2000, now), 'just now');
    assert.equal(formatAge(now - 30_000, now), '30 s ago');
    assert.equal(formatAge(now - 5 * 60_000, now), '5 min ago');
    assert.equal(formatAge(now - 3 * 86_400_000, now), '3 d ago');
    assert.equal(formatAge(now + 2 * 3_600_000, now), 'in 2 h');
  });
});

describe('listFooter', () => {
  it('counts from the offset and points at the next page', () => {
    assert.equal(listFooter(57, 0, 20, 'resources'), 'showing 1–20 of 57 resources; next page: --offset 20');
    assert.equal(listFooter(57, 40, 17, 'resources'), 'showing 41–57 of 57 resources');
    assert.equal(listFooter(0, 0, 0, 'jobs'), 'no jobs');
    assert.equal(listFooter(3, 10, 0, 'jobs'), 'no jobs at offset 10; there are 3, try a smaller --offset');
  });
});

interface Row {
  id: string;
  size: number;
  note: string | null;
}

const columns: Column<Row>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'Size', value: (r) => formatBytes(r.size), align: 'right' },
  { header: 'Note', value: (r) => r.note },
];

function collect(): { write: (s: string) => void; text: () => string } {
  let out = '';
  return { write: (s) => void (out += s), text: () => out };
}

describe('printList', () => {
  const page = { total_count: 3, items: [{ id: 'vol-aaaaaaaa', size: 1024, note: null }, { id: 'vol-bbbbbbbb', size: 20 * 1024 ** 3, note: 'x' }] };

  it('prints a plain table and the footer', () => {
    const out = collect();
    printList(page, columns, { write: out.write, offset: 0, noun: 'volumes' });
    assert.equal(
      out.text(),
      ['ID              SIZE  NOTE', 'vol-aaaaaaaa   1 KiB  -', 'vol-bbbbbbbb  20 GiB  x', 'showing 1–2 of 3 volumes; next page: --offset 2', ''].join('\n'),
    );
  });

  it('prints the raw page, and only it, with --json', () => {
    const out = collect();
    printList(page, columns, { write: out.write, json: true });
    assert.deepEqual(JSON.parse(out.text()), page);
  });

  it('prints just the footer for an empty page', () => {
    const out = collect();
    printList({ total_count: 0, items: [] }, columns, { write: out.write, noun: 'volumes' });
    assert.equal(out.text(), 'no volumes\n');
  });
});

describe('printObject', () => {
  it('prints aligned label/value rows', () => {
    const out = collect();
    printObject({}, [['ID', 'usr-aaaaaaaa'], ['Administrator', false], ['Parent account', null]], { write: out.write });
    assert.equal(out.text(), ['ID:              usr-aaaaaaaa', 'Administrator:   no', 'Parent account:  -', ''].join('\n'));
  });

  it('prints the raw answer with --json', () => {
    const out = collect();
    const raw = { account: { id: 'usr-aaaaaaaa' } };
    printObject(raw, [['ID', 'usr-aaaaaaaa']], { write: out.write, json: true });
    assert.deepEqual(JSON.parse(out.text()), raw);
  });
});
