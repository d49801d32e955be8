import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderTable } from './report.js';

/**
 * Summaries of `node --cpu-prof` output: self time per function and per module,
 * main thread and worker threads apart (they run in parallel, so their times
 * do not add up to wall time).
 *
 *   node dist/bench/cpu-profile.js DIR [DIR…]   summarise every .cpuprofile in the folders
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  label: string;
  files: number;
  /** Sampled time in ms, idle included. */
  totalMs: number;
  idleMs: number;
  functions: { name: string; ms: number }[];
  modules: { name: string; ms: number }[];
}

const ROOT_PREFIXES = [resolve(new URL('../..', import.meta.url).pathname)];

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  // Private build snapshots live under a temporary folder; what matters is the path inside dist/.
  const dist = u.indexOf('/dist/src/');
  if (dist >= 0) return u.slice(dist + 1);
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + 1);
  for (const p of ROOT_PREFIXES) if (u.startsWith(`${p}/`)) u = u.slice(p.length + 1);
  return u;
}

function moduleOf(frame: CallFrame): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const u = shortUrl(frame.url);
  const nm = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return `node_modules/${nm[1]}`;
  return u;
}

const SPECIAL_IDLE = new Set(['(idle)']);

async function summarizeFiles(label: string, files: string[]): Promise<ProfileSummary> {
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const file of files) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    const selfUs = new Map<number, number>();
    profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    for (const [id, us] of selfUs) {
      const frame = byId.get(id);
      if (!frame) continue;
      const ms = us / 1000;
      totalMs += ms;
      if (SPECIAL_IDLE.has(frame.functionName)) {
        idleMs += ms;
        continue;
      }
      const where = frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
      const name = `${frame.functionName || '(anonymous)'}${where}`;
      fn.set(name, (fn.get(name) ?? 0) + ms);
      const m = moduleOf(frame);
      mod.set(m, (mod.get(m) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { label, files: files.length, totalMs, idleMs, functions: sorted(fn), modules: sorted(mod) };
}

/**
 * Profiles in `dir`, grouped as main thread and worker threads. Node names them
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, thread 0 being the main one.
 */
export async function summarizeDir(dir: string, label: string): Promise<ProfileSummary[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  const thread = (f: string) => Number(basename(f).split('.')[4] ?? 0);
  const main = files.filter((f) => thread(f) === 0);
  const workers = files.filter((f) => thread(f) !== 0);
  const out: ProfileSummary[] = [];
  if (main.length) out.push(await summarizeFiles(`${label} main thread`, main));
  if (workers.length) out.push(await summarizeFiles(`${label} ${workers.length} worker thread(s)`, workers));
  return out;
}

export function formatProfile(s: ProfileSummary, top = 15): string {
  const busy = s.totalMs - s.idleMs;
  const pct = (ms: number) => `${((ms / Math.max(busy, 1e-9)) * 100).toFixed(1)}%`;
  const head = `${s.label}: ${(busy / 1000).toFixed(2)} s busy of ${(s.totalMs / 1000).toFixed(2)} s sampled${s.files > 1 ? ` (summed over ${s.files} threads)` : ''}`;
  const fns = renderTable(['self ms', '% busy', 'function'], s.functions.slice(0, top).map((f) => [f.ms.toFixed(0), pct(f.ms), f.name]), [0, 1]);
  const mods = renderTable(['self ms', '% busy', 'module'], s.modules.slice(0, 8).map((f) => [f.ms.toFixed(0), pct(f.ms), f.name]), [0, 1]);
  return `${head}\n${indent(fns)}\n\n${indent(mods)}\n`;
}

const indent = (text: string) => text.replace(/^/gm, '  ');

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    process.stderr.write('usage: node dist/bench/cpu-profile.js DIR [DIR…]\n');
    process.exit(2);
  }
  for (const dir of dirs) for (const s of await summarizeDir(dir, dir)) process.stdout.write(`${formatProfile(s)}\n`);
}
