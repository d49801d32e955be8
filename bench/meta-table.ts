import { TARGET_P99_MS, type OpResult } from './meta-measure.js';

/** The q-quantile of the samples (nearest rank). */
export function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

export interface OpSummary {
  name: string;
  who: string;
  n: number;
  p50: number;
  p99: number;
  pass: boolean;
}

export const summarize = (r: OpResult): OpSummary => {
  const p99 = quantile(r.samples, 0.99);
  return { name: r.name, who: r.who, n: r.samples.length, p50: quantile(r.samples, 0.5), p99, pass: p99 <= TARGET_P99_MS };
};

/** A Markdown table, as docs/performance.md keeps them. */
export function formatTable(rows: OpSummary[]): string {
  const lines = [`| operation | p50 ms | p99 ms | target p99 | result | samples | accounts |`, `| --- | ---: | ---: | ---: | --- | ---: | --- |`];
  for (const r of rows) lines.push(`| ${r.name} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ≤ ${TARGET_P99_MS} | ${r.pass ? 'pass' : 'FAIL'} | ${r.n} | ${r.who} |`);
  return lines.join('\n');
}
