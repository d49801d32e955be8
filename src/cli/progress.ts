import type cliProgress from 'cli-progress';
import { lazily } from './lazy-require.js';
import { formatBytes } from './output.js';
import type { TransferProgress } from './transfer.js';

const progressBars = lazily<typeof cliProgress>('cli-progress');

export interface ProgressReporter {
  update(p: TransferProgress): void;
  stop(): void;
}

/**
 * A bar with bytes read, bytes sent, rate and time left on a terminal; on a pipe
 * or in a log, a plain line every few seconds instead.
 */
export function progressReporter(label: string, opts: { quiet?: boolean } = {}): ProgressReporter {
  if (opts.quiet) return { update() {}, stop() {} };
  const started = Date.now();
  const rate = (done: number) => {
    const s = (Date.now() - started) / 1000;
    return s > 0 ? done / s : 0;
  };
  if (process.stderr.isTTY) {
    const bars = progressBars();
    const bar = new bars.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {done}/{total} read | {sent} sent | {rate}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      bars.Presets.shades_classic,
    );
    let begun = false;
    return {
      update(p) {
        const fields = { done: formatBytes(p.bytesDone), total: formatBytes(p.bytesTotal), sent: formatBytes(p.bytesSent), rate: formatBytes(rate(p.bytesDone)) };
        if (!begun) {
          bar.start(p.bytesTotal || 1, p.bytesDone, fields);
          begun = true;
        } else bar.update(p.bytesDone, fields);
      },
      stop() {
        if (begun) bar.stop();
      },
    };
  }
  let last = 0;
  let latest: TransferProgress | null = null;
  const line = (p: TransferProgress) => {
    const pct = p.bytesTotal ? Math.floor((p.bytesDone * 100) / p.bytesTotal) : 100;
    const r = rate(p.bytesDone);
    const left = r > 0 ? Math.round((p.bytesTotal - p.bytesDone) / r) : 0;
    process.stderr.write(`${label}: ${pct}% ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)} read, ${formatBytes(p.bytesSent)} sent, ${formatBytes(r)}/s, ${left}s left\n`);
  };
  return {
    update(p) {
      latest = p;
      if (Date.now() - last > 5000) {
        last = Date.now();
        line(p);
      }
    },
    stop() {
      if (latest) line(latest);
    },
  };
}
