import { readdirSync, readFileSync, statSync } from 'node:fs';
import { splitDevNumber } from '../src/pipeline/disk-source.js';
import { renderTable } from './report.js';
import { machineCpu, ProcessMeter } from './measure.js';

/**
 * What the machine did in one interval of a step, in cores (CPU seconds a
 * second): busy in all, the client, the server (and of it, its main thread);
 * and the disk's reads and writes. It shows what bounds each part of a step:
 * all cores busy, the disk at its rate, or neither (waiting).
 */
export interface TimelineSample {
  at: number;
  machine: number;
  /** Of `machine`, cores the hypervisor gave to something else: time this VM did not run at all. */
  steal: number;
  client: number;
  server: number;
  serverMain: number;
  readMBps: number | null;
  writeMBps: number | null;
}

export const TIMELINE_INTERVAL_MS = 100;
const SECTOR = 512;

/** Reads and writes, in bytes, of the block device (or partition) that holds `dir`; null when it is none (tmpfs, overlay). */
function diskCounter(dir: string): (() => { read: number; written: number }) | null {
  const { major, minor } = splitDevNumber(BigInt(statSync(dir).dev));
  const find = () => readFileSync('/proc/diskstats', 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).find((f) => Number(f[0]) === major && Number(f[1]) === minor);
  if (!find()) return null;
  return () => {
    // Fields after major, minor, name: reads, merged, sectors read, ms, writes, merged, sectors written, …
    const f = find() ?? [];
    return { read: Number(f[5]) * SECTOR, written: Number(f[9]) * SECTOR };
  };
}

/** CPU seconds of `pid` (all threads), or of thread `tid` of it; null when there is no such process (not yet, or no longer). */
function cpuSeconds(pid: number | undefined, tid?: number): number | null {
  if (pid === undefined) return null;
  try {
    const { user, sys } = new ProcessMeter(pid).cpu(tid);
    return user + sys;
  } catch {
    return null;
  }
}

/**
 * The client of a step: the process that the GNU time we started runs (see
 * measure.ts `timed`), found by its parent.
 */
function findClient(): number | undefined {
  const parentOf = (pid: string): { ppid: number; comm: string } | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) };
    } catch {
      return undefined;
    }
  };
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const self = parentOf(name);
    if (!self) continue;
    const parent = parentOf(String(self.ppid));
    if (parent?.comm === 'time' && parent.ppid === process.pid) return Number(name);
  }
  return undefined;
}

/** Samples the machine every 100 ms from `start()` until `stop()`. */
export class Timeline {
  private readonly samples: TimelineSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly serverPid: number,
    private readonly workDir: string,
  ) {}

  start(): void {
    const disk = diskCounter(this.workDir);
    const started = performance.now();
    let client: number | undefined;
    const read = () => {
      client ??= findClient();
      return {
        at: performance.now(),
        ...machineCpu(),
        client: cpuSeconds(client),
        server: cpuSeconds(this.serverPid),
        serverMain: cpuSeconds(this.serverPid, this.serverPid),
        disk: disk?.() ?? null,
      };
    };
    let last = read();
    this.timer = setInterval(() => {
      const now = read();
      const seconds = (now.at - last.at) / 1000;
      // An interval in which a process started or ended counts as idle for it.
      const rate = (a: number | null, b: number | null) => (a === null || b === null ? 0 : (b - a) / seconds);
      this.samples.push({
        at: (now.at - started) / 1000,
        machine: rate(last.busy, now.busy),
        steal: rate(last.steal, now.steal),
        client: rate(last.client, now.client),
        server: rate(last.server, now.server),
        serverMain: rate(last.serverMain, now.serverMain),
        readMBps: now.disk && last.disk ? rate(last.disk.read, now.disk.read) / 1e6 : null,
        writeMBps: now.disk && last.disk ? rate(last.disk.written, now.disk.written) / 1e6 : null,
      });
      last = now;
    }, TIMELINE_INTERVAL_MS);
  }

  stop(): TimelineSample[] {
    clearInterval(this.timer);
    return this.samples;
  }
}

/** The samples as a table, `every` of them to a row (averaged). */
export function formatTimeline(samples: TimelineSample[], every = 1): string {
  const rows: string[][] = [];
  for (let i = 0; i < samples.length; i += every) {
    const group = samples.slice(i, i + every);
    const mean = (pick: (s: TimelineSample) => number | null) => {
      const values = group.map(pick).filter((v): v is number => v !== null);
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    };
    const cores = (v: number | null) => (v === null ? '' : v.toFixed(2));
    const mbps = (v: number | null) => (v === null ? '' : v.toFixed(0));
    rows.push([
      group.at(-1)!.at.toFixed(1),
      cores(mean((s) => s.machine)),
      cores(mean((s) => s.steal)),
      cores(mean((s) => s.client)),
      cores(mean((s) => s.server)),
      cores(mean((s) => s.serverMain)),
      mbps(mean((s) => s.readMBps)),
      mbps(mean((s) => s.writeMBps)),
    ]);
  }
  return renderTable(['t s', 'busy cores', 'steal', 'client', 'server', 'srv main', 'read MB/s', 'write MB/s'], rows, [0, 1, 2, 3, 4, 5, 6, 7]);
}
