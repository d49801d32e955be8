import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { checkFires, checkTimezone, describeSchedule, nextRun, nextRuns, normalizeSchedule, type PolicyTiming, type Schedule } from '../../src/domain/schedule.js';

const timing = (schedule: Schedule, timezone = 'UTC', repeat: PolicyTiming['repeat'] = 'repeating', anchor_at = '2026-01-01T00:00:00.000Z'): PolicyTiming => ({
  repeat,
  schedule: normalizeSchedule(schedule),
  timezone,
  anchor_at,
});
const iso = (ds: Date[]) => ds.map((d) => d.toISOString());
const refused = (fn: () => unknown, field: string) =>
  assert.throws(fn, (e: unknown) => e instanceof CairnError && e.status === 400 && (e.field ?? '').startsWith(field));

describe('backup policy schedules', () => {
  test('daily in Berlin: the spring gap runs at the first minute that exists, then at 02:30 again', () => {
    const t = timing({ kind: 'daily', times: ['02:30'] }, 'Europe/Berlin');
    // 29 March 2026: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    assert.deepEqual(iso(nextRuns(t, new Date('2026-03-28T12:00:00Z'), 3)), ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
  });

  test('daily in Berlin: the autumn repeat runs once, at the first 02:30', () => {
    const t = timing({ kind: 'daily', times: ['02:30'] }, 'Europe/Berlin');
    // 25 October 2026: 02:30 happens twice (CEST, then CET); one run only.
    assert.deepEqual(iso(nextRuns(t, new Date('2026-10-24T12:00:00Z'), 3)), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
  });

  test('every N hours counts real hours across a daylight-saving change', () => {
    const t = timing({ kind: 'hourly', every_hours: 6 }, 'Europe/Berlin', 'repeating', '2026-10-24T22:00:00.000Z');
    assert.deepEqual(iso(nextRuns(t, new Date('2026-10-24T22:00:00Z'), 3)), ['2026-10-25T04:00:00.000Z', '2026-10-25T10:00:00.000Z', '2026-10-25T16:00:00.000Z']);
  });

  test('monthly on the 31st runs on the last day of shorter months', () => {
    const t = timing({ kind: 'monthly', days: [31], times: ['00:00'] });
    assert.deepEqual(iso(nextRuns(t, new Date('2026-01-15T00:00:00Z'), 4)), ['2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z', '2026-04-30T00:00:00.000Z']);
  });

  test('monthly on the 29th: 29 February in a leap year, the 28th otherwise; 30 and 31 in one month run twice only where both exist', () => {
    const t = timing({ kind: 'monthly', days: [29], times: ['12:00'] });
    assert.equal(nextRun(t, new Date('2027-02-01T00:00:00Z'))!.toISOString(), '2027-02-28T12:00:00.000Z');
    assert.equal(nextRun(t, new Date('2028-02-01T00:00:00Z'))!.toISOString(), '2028-02-29T12:00:00.000Z');
    const both = timing({ kind: 'monthly', days: [30, 31], times: ['12:00'] });
    assert.deepEqual(iso(nextRuns(both, new Date('2026-04-01T00:00:00Z'), 3)), ['2026-04-30T12:00:00.000Z', '2026-05-30T12:00:00.000Z', '2026-05-31T12:00:00.000Z']);
  });

  test('a cron expression for 29 February fires only in leap years', () => {
    const t = timing({ kind: 'cron', expression: '0 3 29 2 *' }, 'Asia/Shanghai');
    assert.deepEqual(iso(nextRuns(t, new Date('2026-01-01T00:00:00Z'), 2)), ['2028-02-28T19:00:00.000Z', '2032-02-28T19:00:00.000Z']);
  });

  test('weekly on Monday and Sunday at two times, in Shanghai', () => {
    const t = timing({ kind: 'weekly', days: [7, 1], times: ['23:00', '01:00'] }, 'Asia/Shanghai');
    // Thursday 1 January 2026; Sunday the 4th, Monday the 5th.
    assert.deepEqual(iso(nextRuns(t, new Date('2026-01-01T00:00:00Z'), 4)), ['2026-01-03T17:00:00.000Z', '2026-01-04T15:00:00.000Z', '2026-01-04T17:00:00.000Z', '2026-01-05T15:00:00.000Z']);
  });

  test('a policy run once has one next run, none after it', () => {
    const t = timing({ kind: 'daily', times: ['02:00'] }, 'UTC', 'once');
    assert.deepEqual(iso(nextRuns(t, new Date('2026-01-01T00:00:00Z'), 3)), ['2026-01-01T02:00:00.000Z']);
  });

  test('a cron with seconds is allowed (six fields)', () => {
    const t = timing({ kind: 'cron', expression: '*/10 * * * * *' });
    assert.deepEqual(iso(nextRuns(t, new Date('2026-01-01T00:00:01Z'), 2)), ['2026-01-01T00:00:10.000Z', '2026-01-01T00:00:20.000Z']);
  });

  test('bad input is a 400 naming the field', () => {
    refused(() => normalizeSchedule({ kind: 'daily', times: ['24:00'] }), 'schedule.times');
    refused(() => normalizeSchedule({ kind: 'daily', times: [] }), 'schedule.times');
    refused(() => normalizeSchedule({ kind: 'weekly', days: [0], times: ['01:00'] }), 'schedule.days');
    refused(() => normalizeSchedule({ kind: 'monthly', days: [32], times: ['01:00'] }), 'schedule.days');
    refused(() => normalizeSchedule({ kind: 'hourly', every_hours: 0 }), 'schedule.every_hours');
    refused(() => normalizeSchedule({ kind: 'hourly', every_hours: 169 }), 'schedule.every_hours');
    refused(() => normalizeSchedule({ kind: 'cron', expression: 'every day' }), 'schedule.expression');
    refused(() => checkTimezone('Mars/Olympus_Mons'), 'timezone');
    refused(() => checkFires(timing({ kind: 'cron', expression: '0 0 30 2 *' }), new Date('2026-01-01T00:00:00Z')), 'schedule');
    assert.equal(checkTimezone('asia/shanghai'), 'Asia/Shanghai');
  });

  test('described in words, in Chinese and English', () => {
    assert.equal(describeSchedule(timing({ kind: 'daily', times: ['02:00'] }, 'Asia/Shanghai'), 'zh'), '每天 02:00 (Asia/Shanghai)');
    assert.equal(describeSchedule(timing({ kind: 'daily', times: ['02:00'] }, 'Asia/Shanghai'), 'en'), 'Daily at 02:00 (Asia/Shanghai)');
    assert.equal(describeSchedule(timing({ kind: 'weekly', days: [3, 1], times: ['02:00'] }), 'zh'), '每周一、三 02:00 (UTC)');
    assert.equal(describeSchedule(timing({ kind: 'monthly', days: [1, 15], times: ['02:00'] }, 'UTC', 'once'), 'en'), 'Once: Monthly on day 1, 15 at 02:00 (UTC)');
    assert.equal(describeSchedule(timing({ kind: 'hourly', every_hours: 6 }), 'zh'), '每 6 小时 (UTC)');
  });
});
