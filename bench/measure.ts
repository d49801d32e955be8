import { spawn, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (${code === null ? 'killed' : `exit ${code}`}): ${stderr.trim().split('\n').slice(-5).join('\n') || 'no error output'}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to completion, failing on a non-zero exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) };
    const child = spawn(cmd, args, spawnOpts);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError([cmd, ...args].join(' '), code, stderr || stdout));
    });
  });
}

/** What one process cost: seconds, and bytes of peak resident memory. */
export interface Usage {
  wall: number;
  user: number;
  sys: number;
  peakRss: number;
}

let timeDir: string | undefined;

/**
 * Runs a command under GNU time, which reports the child's own rusage (CPU and
 * max RSS, worker threads included); Node offers no rusage of one child. Wall
 * time is taken here, at sub-millisecond resolution instead of time's 10 ms.
 */
export async function timed(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult & { usage: Usage }> {
  timeDir ??= mkdtempSync(join(tmpdir(), 'cairn-bench-time-'));
  const out = join(timeDir, 'usage');
  rmSync(out, { force: true });
  const started = performance.now();
  const result = await run('/usr/bin/time', ['-o', out, '-f', '%U %S %M', cmd, ...args], opts);
  const wall = (performance.now() - started) / 1000;
  // time prefixes a "Command exited with non-zero status" line on failure; the numbers are last.
  const last = readFileSync(out, 'utf8').trim().split('\n').pop() ?? '';
  const [user, sys, maxKb] = last.split(/\s+/).map(Number);
  if (user === undefined || sys === undefined || maxKb === undefined || [user, sys, maxKb].some((n) => !Number.isFinite(n)))
    throw new Error(`cannot parse GNU time output "${last}"`);
  return { ...result, usage: { wall, user, sys, peakRss: maxKb * 1024 } };
}

export function cleanupTimeDir(): void {
  if (timeDir) rmSync(timeDir, { recursive: true, force: true });
}

const CLOCK_TICKS = 100; // USER_HZ: fixed at 100 on Linux for /proc/<pid>/stat, whatever the kernel HZ

/** CPU and peak memory of a long-running process we did not start under time: the Cairn server. */
export class ProcessMeter {
  private peakResettable = true;

  constructor(readonly pid: number) {}

  /** CPU seconds so far, all threads (worker threads included), or only thread `tid` of this process. */
  cpu(tid?: number): { user: number; sys: number } {
    return procStat(tid === undefined ? `/proc/${this.pid}/stat` : `/proc/${this.pid}/task/${tid}/stat`);
  }

  /** Bytes of peak RSS since start, or since the last successful resetPeak(). */
  peakRss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (!m) throw new Error(`no VmHWM in /proc/${this.pid}/status`);
    return Number(m[1]) * 1024;
  }

  /**
   * Starts a new peak measurement ("5" to clear_refs resets VmHWM to the
   * current RSS), so each step gets its own peak rather than the run's. When the
   * kernel refuses, peaks are since the server started, which `resettable` says.
   */
  resetPeak(): void {
    if (!this.peakResettable) return;
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      this.peakResettable = false;
    }
  }

  get resettable(): boolean {
    return this.peakResettable;
  }
}

/** A process's (or thread's) name and CPU seconds so far, from its /proc/…/stat. */
export function procStat(path: string): { name: string; user: number; sys: number } {
  const stat = readFileSync(path, 'utf8');
  // The command name may hold spaces and parentheses; the fields after its last ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), user: Number(fields[11]) / CLOCK_TICKS, sys: Number(fields[12]) / CLOCK_TICKS };
}

/**
 * CPU seconds of the whole machine so far (all cores, every process, kernel
 * included): `busy` is everything but idle and iowait; `steal`, part of it, is
 * the time the hypervisor ran something else on this VM's cores.
 */
export function machineCpu(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal …
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  return { busy: (total - (f[3] ?? 0) - (f[4] ?? 0)) / CLOCK_TICKS, steal: (f[7] ?? 0) / CLOCK_TICKS };
}

/**
 * Empties the page cache so that every tool reads the disk image cold. Needs
 * root (and a /proc/sys that is not read-only); returns false when refused,
 * in which case caches are warm for all tools alike.
 */
export async function dropCaches(): Promise<boolean> {
  try {
    await run('sync', []);
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/**
 * Seconds that `sync` takes right after a step: the dirty data the tool left
 * for the kernel to write. Tools that fsync pay for it inside their step, tools
 * that do not would otherwise look faster by leaving it behind.
 */
export async function timeSync(): Promise<number> {
  const started = performance.now();
  await run('sync', []);
  return (performance.now() - started) / 1000;
}

/** Bytes used on disk by a folder (apparent sizes), as `du -sb` counts them. */
export async function storedBytes(path: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', path]);
  const n = Number(stdout.split(/\s/)[0]);
  if (!Number.isFinite(n)) throw new Error(`cannot parse du output "${stdout}"`);
  return n;
}
