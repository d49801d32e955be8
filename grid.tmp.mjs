import zstd from 'zstd-napi/binding.js';
import { openSync, readSync } from 'node:fs';
const fd = openSync(process.argv[2], 'r'); const C = 4<<20;
const out = Buffer.alloc(C * 2);
const chunks = []; let pos = 0;
const probe = new zstd.CCtx(); probe.setParameter(zstd.CParameter.compressionLevel, 2);
for (;;) { const buf = Buffer.alloc(C); const n = readSync(fd, buf, 0, C, pos); if (n <= 0) break; pos += n;
  const d = buf.subarray(0, n); if (d.every(b => b === 0)) continue;
  const m = probe.compress2(out, d); const r = m / n; if (r > 0.15 && r < 0.95) chunks.push(d); }
const P = zstd.CParameter;
function run(label, params) {
  const cc = new zstd.CCtx(); for (const [k, v] of Object.entries(params)) cc.setParameter(P[k], v);
  let best = 1e9, size = 0;
  for (let rep = 0; rep < 2; rep++) { size = 0; const t = process.hrtime.bigint();
    for (const d of chunks) size += cc.compress2(out, d);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6); }
  console.log(label.padEnd(40), best.toFixed(0).padStart(6), 'ms', (size / 1e6).toFixed(2), 'MB');
}
console.log(chunks.length, 'text chunks');
for (const spec of process.argv.slice(3)) { const p = Object.fromEntries(spec.split(',').map(kv => { const [k, v] = kv.split('='); return [k, +v]; })); run(spec, p); }
