import type { Usage } from './measure.js';
import { STEPS, type ServerUsage, type StepName, type ToolName } from './tools.js';

export interface Sample {
  round: number;
  tool: ToolName;
  step: StepName;
  client: Usage;
  server?: ServerUsage;
  /** Repository size after this step; backups only. */
  stored?: number;
  /** Restores only: the restored image is byte-identical to the one backed up. */
  verified?: boolean;
  /** Seconds of `sync` right after the step (see timeSync). */
  flush?: number;
  /**
   * CPU seconds that processes other than the measured ones used during the
   * step: on a shared machine, a large value means the step's wall time is not
   * to be trusted.
   */
  otherCpu?: number;
  /** Of otherCpu, the seconds the hypervisor ran something else on this VM's cores. */
  steal?: number;
  /** With --store s3: of otherCpu, the seconds the store's daemons on this machine used (radosgw, ceph-osd, ceph-mon). */
  storeCpu?: number;
}

export interface Summary {
  tool: ToolName;
  step: StepName;
  rounds: number;
  wall: number;
  wallMin: number;
  wallMax: number;
  user: number;
  sys: number;
  peakRss: number;
  server?: { user: number; sys: number; peakRss: number };
  stored?: number;
  verified?: boolean;
  flush?: number;
  otherCpu?: number;
  steal?: number;
}

export interface Ratio {
  step: StepName | 'stored';
  vsRestic: number | null;
  vsBorg: number | null;
  /** The same for CPU seconds (user + system; Cairn's client and server together), which contention disturbs less than wall time. */
  cpuVsRestic?: number | null;
  cpuVsBorg?: number | null;
}

export interface TargetCheck {
  what: string;
  target: string;
  value: string;
  /** null: could not be judged in this run (a tool left out, or not the 8 GiB disk). */
  pass: boolean | null;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(samples: Sample[], tools: ToolName[]): Summary[] {
  const out: Summary[] = [];
  for (const tool of tools) {
    for (const step of STEPS) {
      const ss = samples.filter((s) => s.tool === tool && s.step === step);
      if (ss.length === 0) continue;
      const m = (f: (s: Sample) => number) => median(ss.map(f));
      const walls = ss.map((s) => s.client.wall);
      const servers = ss.map((s) => s.server).filter((s): s is ServerUsage => s !== undefined);
      const stored = ss.map((s) => s.stored).filter((s): s is number => s !== undefined);
      const verified = ss.map((s) => s.verified).filter((v): v is boolean => v !== undefined);
      const flush = ss.map((s) => s.flush).filter((v): v is number => v !== undefined);
      const other = ss.map((s) => s.otherCpu).filter((v): v is number => v !== undefined);
      const steal = ss.map((s) => s.steal).filter((v): v is number => v !== undefined);
      out.push({
        tool,
        step,
        rounds: ss.length,
        wall: median(walls),
        wallMin: Math.min(...walls),
        wallMax: Math.max(...walls),
        user: m((s) => s.client.user),
        sys: m((s) => s.client.sys),
        peakRss: m((s) => s.client.peakRss),
        ...(servers.length ? { server: { user: median(servers.map((s) => s.user)), sys: median(servers.map((s) => s.sys)), peakRss: median(servers.map((s) => s.peakRss)) } } : {}),
        ...(stored.length ? { stored: median(stored) } : {}),
        ...(verified.length ? { verified: verified.every(Boolean) } : {}),
        ...(flush.length ? { flush: median(flush) } : {}),
        ...(other.length ? { otherCpu: median(other) } : {}),
        ...(steal.length ? { steal: median(steal) } : {}),
      });
    }
  }
  return out;
}

function find(rows: Summary[], tool: ToolName, step: StepName): Summary | undefined {
  return rows.find((r) => r.tool === tool && r.step === step);
}

const div = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b !== undefined && b > 0 ? a / b : null);

export function ratios(rows: Summary[]): Ratio[] {
  const cpu = (r: Summary | undefined) => (r ? r.user + r.sys + (r.server ? r.server.user + r.server.sys : 0) : undefined);
  const out: Ratio[] = STEPS.map((step) => {
    const c = find(rows, 'cairn', step);
    const restic = find(rows, 'restic', step);
    const borg = find(rows, 'borg', step);
    return {
      step,
      vsRestic: div(c?.wall, restic?.wall),
      vsBorg: div(c?.wall, borg?.wall),
      cpuVsRestic: div(cpu(c), cpu(restic)),
      cpuVsBorg: div(cpu(c), cpu(borg)),
    };
  });
  const stored = (tool: ToolName) => find(rows, tool, 'incremental')?.stored;
  out.push({ step: 'stored', vsRestic: div(stored('cairn'), stored('restic')), vsBorg: div(stored('cairn'), stored('borg')) });
  return out;
}

const MB = 1e6;
const MEMORY_LIMIT = 250 * MB;

const fmtRatio = (r: number | null) => (r === null ? 'n/a' : `${r.toFixed(2)}×`);
const judge = (r: number | null, limit: number) => (r === null ? null : r <= limit);

/**
 * The targets. `baselinePeaks` are the peaks of a run on the 2 GiB
 * disk, for the "no more than on the 2 GiB disk + 10%" half of the memory target.
 */
export function checkTargets(rows: Summary[], large: boolean, baselinePeaks?: { client: number; server: number }): TargetCheck[] {
  const wall = (tool: ToolName, step: StepName) => find(rows, tool, step)?.wall;
  const checks: TargetCheck[] = [];
  for (const peer of ['restic', 'borg'] as const) {
    const r = div(wall('cairn', 'full'), wall(peer, 'full'));
    checks.push({ what: `full backup vs ${peer}`, target: '≤ 0.35×', value: fmtRatio(r), pass: judge(r, 0.35) });
  }
  const peers = [wall('restic', 'incremental'), wall('borg', 'incremental')].filter((w): w is number => w !== undefined);
  const incr = div(wall('cairn', 'incremental'), peers.length === 2 ? Math.min(...peers) : undefined);
  checks.push({ what: 'incremental vs faster of restic/borg', target: '≤ 0.30×', value: fmtRatio(incr), pass: judge(incr, 0.3) });
  const restore = div(wall('cairn', 'restore'), wall('restic', 'restore'));
  checks.push({ what: 'restore vs restic', target: '≤ 0.50×', value: fmtRatio(restore), pass: judge(restore, 0.5) });
  const stored = div(find(rows, 'cairn', 'incremental')?.stored, find(rows, 'restic', 'incremental')?.stored);
  checks.push({ what: 'stored after both backups vs restic', target: '≤ 1.00×', value: fmtRatio(stored), pass: judge(stored, 1.0) });

  const cairn = rows.filter((r) => r.tool === 'cairn');
  if (cairn.length) {
    const peaks = { client: Math.max(...cairn.map((r) => r.peakRss)), server: Math.max(...cairn.map((r) => r.server?.peakRss ?? 0)) };
    for (const who of ['client', 'server'] as const) {
      const peak = peaks[who];
      const base = baselinePeaks?.[who];
      const growth = base ? ` (${((peak / base - 1) * 100).toFixed(0)}% vs 2 GiB run)` : '';
      const pass = !large ? null : peak <= MEMORY_LIMIT && (base === undefined || peak <= base * 1.1);
      checks.push({
        what: `cairn ${who} peak memory${large ? ', 8 GiB disk' : ' (judged with --large)'}`,
        target: '≤ 250 MB, ≤ 2 GiB run + 10%',
        value: `${(peak / MB).toFixed(0)} MB${growth}`,
        pass,
      });
    }
  }
  return checks;
}

/** Peak client and server memory of Cairn in a summary, for comparing runs. */
export function cairnPeaks(rows: Summary[]): { client: number; server: number } | undefined {
  const cairn = rows.filter((r) => r.tool === 'cairn');
  if (!cairn.length) return undefined;
  return { client: Math.max(...cairn.map((r) => r.peakRss)), server: Math.max(...cairn.map((r) => r.server?.peakRss ?? 0)) };
}

/** A plain-text table; the columns listed in `right` are right-aligned (numbers). */
export function renderTable(header: string[], rows: string[][], right: number[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const s2 = (n: number) => n.toFixed(2);
const mb = (n: number | undefined) => (n === undefined ? '' : (n / MB).toFixed(0));

export function formatSummary(rows: Summary[]): string {
  const header = ['tool', 'step', 'wall s', '(min–max)', 'user s', 'sys s', 'peak MB', 'srv user s', 'srv sys s', 'srv peak MB', 'stored MB', 'sync s', 'other cpu s', 'steal s', 'ok'];
  const body = rows.map((r) => [
    r.tool,
    r.step,
    s2(r.wall),
    r.rounds > 1 ? `${s2(r.wallMin)}–${s2(r.wallMax)}` : '',
    s2(r.user),
    s2(r.sys),
    mb(r.peakRss),
    r.server ? s2(r.server.user) : '',
    r.server ? s2(r.server.sys) : '',
    r.server ? mb(r.server.peakRss) : '',
    mb(r.stored),
    r.flush === undefined ? '' : s2(r.flush),
    r.otherCpu === undefined ? '' : s2(r.otherCpu),
    r.steal === undefined ? '' : s2(r.steal),
    r.verified === undefined ? '' : r.verified ? 'same' : 'DIFFERS',
  ]);
  return renderTable(header, body, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
}

export function formatRatios(list: Ratio[]): string {
  const rows: string[][] = [];
  for (const r of list) {
    rows.push([r.step === 'stored' ? 'stored bytes' : `${r.step} wall`, fmtRatio(r.vsRestic), fmtRatio(r.vsBorg)]);
    if (r.step !== 'stored') rows.push([`${r.step} cpu`, fmtRatio(r.cpuVsRestic ?? null), fmtRatio(r.cpuVsBorg ?? null)]);
  }
  return renderTable(['Cairn ÷', 'restic', 'borg'], rows, [1, 2]);
}

export function formatTargets(checks: TargetCheck[]): string {
  return renderTable(
    ['target', 'limit', 'this run', 'result'],
    checks.map((c) => [c.what, c.target, c.value, c.pass === null ? 'n/a' : c.pass ? 'pass' : 'FAIL']),
    [],
  );
}
