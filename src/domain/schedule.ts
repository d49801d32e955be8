import { Cron } from 'croner';
import { badRequest } from './errors.js';

/**
 * When a backup policy (备份策略) fires. Wall-clock kinds (daily, weekly,
 * monthly, cron) are read in the policy's time zone, so 02:00 stays 02:00
 * across daylight-saving changes; "every N hours" counts real elapsed hours
 * from the policy's anchor, so it is never shortened or doubled by them.
 */
export type Schedule =
  | { kind: 'daily'; times: string[] }
  /** Days 1 (Monday) to 7 (Sunday), as ISO 8601 counts them. */
  | { kind: 'weekly'; days: number[]; times: string[] }
  /** Days 1 to 31; a day past the month's end runs on its last day (31 → 30 April, 28 or 29 February). */
  | { kind: 'monthly'; days: number[]; times: string[] }
  | { kind: 'hourly'; every_hours: number }
  /** Five fields, or six with seconds first (croner's syntax). */
  | { kind: 'cron'; expression: string };

export type Repeat = 'repeating' | 'once';

export interface PolicyTiming {
  repeat: Repeat;
  schedule: Schedule;
  timezone: string;
  /** Where "every N hours" counts from (ISO 8601). */
  anchor_at: string;
}

export const MAX_EVERY_HOURS = 24 * 7;
const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;
const MAX_TIMES = 24;

/** Refuses a zone the runtime's time-zone database does not know. */
export function checkTimezone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz }).format(0);
  } catch {
    throw badRequest(`"${tz}" is not a time zone; give an IANA name such as Asia/Shanghai, Europe/Berlin or UTC.`, 'timezone');
  }
  // Intl accepts aliases in any case; the canonical spelling is what is stored and shown.
  return new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
}

function checkTimes(times: string[]): { h: number; m: number }[] {
  if (times.length === 0 || times.length > MAX_TIMES) throw badRequest(`Give 1 to ${MAX_TIMES} times of day (HH:MM).`, 'schedule.times');
  const out = times.map((t, i) => {
    const m = TIME_RE.exec(t);
    if (!m) throw badRequest(`"${t}" is not a time of day; write it as HH:MM, 00:00 to 23:59.`, `schedule.times.${i}`);
    return { h: Number(m[1]), m: Number(m[2]) };
  });
  return out;
}

function checkDays(days: number[], min: number, max: number, what: string): number[] {
  if (days.length === 0) throw badRequest(`Give at least one ${what}.`, 'schedule.days');
  days.forEach((d, i) => {
    if (!Number.isInteger(d) || d < min || d > max) throw badRequest(`${d} is not a ${what}; give ${min} to ${max}.`, `schedule.days.${i}`);
  });
  return [...new Set(days)].sort((a, b) => a - b);
}

/** The schedule with its lists sorted and deduplicated, or a 400 saying what is wrong. */
export function normalizeSchedule(s: Schedule): Schedule {
  switch (s.kind) {
    case 'daily':
      checkTimes(s.times);
      return { kind: 'daily', times: [...new Set(s.times)].sort() };
    case 'weekly':
      checkTimes(s.times);
      return { kind: 'weekly', days: checkDays(s.days, 1, 7, 'day of the week (1 = Monday … 7 = Sunday)'), times: [...new Set(s.times)].sort() };
    case 'monthly':
      checkTimes(s.times);
      return { kind: 'monthly', days: checkDays(s.days, 1, 31, 'day of the month'), times: [...new Set(s.times)].sort() };
    case 'hourly':
      if (!Number.isInteger(s.every_hours) || s.every_hours < 1 || s.every_hours > MAX_EVERY_HOURS)
        throw badRequest(`Every N hours needs N from 1 to ${MAX_EVERY_HOURS}; ${s.every_hours} is not.`, 'schedule.every_hours');
      return s;
    case 'cron': {
      const expression = s.expression.trim().replace(/\s+/g, ' ');
      try {
        new Cron(expression, { paused: true, mode: '5-or-6-parts', timezone: 'UTC' });
      } catch (err) {
        throw badRequest(`"${s.expression}" is not a cron expression: ${(err as Error).message}`, 'schedule.expression');
      }
      return { kind: 'cron', expression };
    }
  }
}

/** The cron patterns of a wall-clock schedule; their earliest next run is the schedule's. */
function patterns(s: Exclude<Schedule, { kind: 'hourly' }>): string[] {
  if (s.kind === 'cron') return [s.expression];
  const times = checkTimes(s.times);
  if (s.kind === 'daily') return times.map((t) => `${t.m} ${t.h} * * *`);
  if (s.kind === 'weekly') {
    // cron counts Sunday as 0.
    const dows = s.days.map((d) => d % 7).join(',');
    return times.map((t) => `${t.m} ${t.h} * * ${dows}`);
  }
  const out: string[] = [];
  for (const t of times) {
    out.push(`${t.m} ${t.h} ${s.days.join(',')} * *`);
    // A day a month may lack runs on that month's last day instead: only months that can be shorter get the "L" pattern.
    const longest = Math.max(...s.days);
    if (longest > 28) {
      const shortMonths = longest === 31 ? '2,4,6,9,11' : '2';
      out.push(`${t.m} ${t.h} L ${shortMonths} *`);
    }
  }
  return out;
}

/**
 * The next `count` runs strictly after `after` (a repeating policy), or the
 * single first one (a policy run once, counted from `after`). An empty list
 * means the schedule never fires again.
 */
export function nextRuns(timing: PolicyTiming, after: Date, count: number): Date[] {
  const n = timing.repeat === 'once' ? Math.min(count, 1) : count;
  const s = timing.schedule;
  if (s.kind === 'hourly') {
    const period = s.every_hours * 3600_000;
    const anchor = Date.parse(timing.anchor_at);
    const k = Math.max(0, Math.floor((after.getTime() - anchor) / period) + 1);
    return Array.from({ length: n }, (_, i) => new Date(anchor + (k + i) * period));
  }
  const crons = patterns(s).map((p) => new Cron(p, { paused: true, mode: '5-or-6-parts', timezone: timing.timezone }));
  const out: Date[] = [];
  let from = after;
  while (out.length < n) {
    const next = crons.map((c) => c.nextRun(from)).filter((d): d is Date => d !== null);
    if (next.length === 0) break;
    const earliest = new Date(Math.min(...next.map((d) => d.getTime())));
    out.push(earliest);
    from = earliest;
  }
  return out;
}

export const nextRun = (timing: PolicyTiming, after: Date): Date | null => nextRuns(timing, after, 1)[0] ?? null;

/** Refuses a schedule that never fires (a cron of 30 February): a 400, before anything is stored. */
export function checkFires(timing: PolicyTiming, now: Date): void {
  if (!nextRun(timing, now)) throw badRequest('This schedule never runs (e.g. a day no month has); choose days and times that exist.', 'schedule');
}

const WEEKDAY = {
  zh: ['', '一', '二', '三', '四', '五', '六', '日'],
  en: ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
};

/** The schedule in words, as the console and the CLI show it: "每天 02:00 (Asia/Shanghai)", "Daily at 02:00 (Asia/Shanghai)". */
export function describeSchedule(timing: Pick<PolicyTiming, 'repeat' | 'schedule' | 'timezone'>, lang: 'zh' | 'en'): string {
  const s = timing.schedule;
  const zh = lang === 'zh';
  let words: string;
  switch (s.kind) {
    case 'daily':
      words = zh ? `每天 ${s.times.join('、')}` : `Daily at ${s.times.join(', ')}`;
      break;
    case 'weekly':
      words = zh ? `每周${s.days.map((d) => WEEKDAY.zh[d]).join('、')} ${s.times.join('、')}` : `Weekly on ${s.days.map((d) => WEEKDAY.en[d]).join(', ')} at ${s.times.join(', ')}`;
      break;
    case 'monthly':
      words = zh ? `每月 ${s.days.join('、')} 日 ${s.times.join('、')}` : `Monthly on day ${s.days.join(', ')} at ${s.times.join(', ')}`;
      break;
    case 'hourly':
      words = zh ? `每 ${s.every_hours} 小时` : `Every ${s.every_hours} hour${s.every_hours === 1 ? '' : 's'}`;
      break;
    case 'cron':
      words = zh ? `Cron 表达式 ${s.expression}` : `Cron ${s.expression}`;
      break;
  }
  const once = timing.repeat === 'once' ? (zh ? '仅执行一次：' : 'Once: ') : '';
  return `${once}${words} (${timing.timezone})`;
}
