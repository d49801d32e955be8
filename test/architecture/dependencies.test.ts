import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/server.js';

const run = promisify(execFile);
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** The rule's violations in `dir`'s src/ and web/src/, as dependency-cruiser reports them. */
async function violations(dir: string, paths = ['src', 'web/src']): Promise<Violation[]> {
  const out = await run(DEPCRUISE, [...paths, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 }).catch(
    // depcruise exits non-zero when it finds violations; its JSON is on stdout either way.
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
  );
  return (JSON.parse(out.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('the dependency rule (.dependency-cruiser.cjs, docs/architecture.md)', () => {
  it('holds for the whole tree: every import points inward, the console imports only the contract, and nothing imports itself in a cycle', async () => {
    const found = await violations(ROOT);
    assert.deepEqual(
      found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
      [],
    );
  });

  it('rejects a wrong-way import and a cycle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-deps-'));
    try {
      cpSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
      cpSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
      mkdirSync(join(dir, 'src', 'domain'), { recursive: true });
      mkdirSync(join(dir, 'src', 'services'), { recursive: true });
      writeFileSync(join(dir, 'src', 'domain', 'rules.ts'), "import { listChains } from '../services/chains.js';\nexport const rule = listChains;\n");
      writeFileSync(join(dir, 'src', 'services', 'chains.ts'), "import { jobsOf } from './jobs.js';\nexport const listChains = () => jobsOf();\n");
      writeFileSync(join(dir, 'src', 'services', 'jobs.ts'), "import { listChains } from './chains.js';\nexport const jobsOf = () => listChains;\n");
      const names = (await violations(dir, ['src'])).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
      assert.ok(names.includes('domain-imports-inward: src/domain/rules.ts → src/services/chains.ts'), names.join('\n'));
      assert.ok(names.some((n) => n.startsWith('no-cycles: src/services/')), names.join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
