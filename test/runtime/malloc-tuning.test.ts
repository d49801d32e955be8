import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { canAdviseHugePages, HUGE_PAGE_SIZE, retainFreedMemory } from '../../src/runtime/index.js';

describe('keeping freed memory in the process', () => {
  it('is taken by the C library where it is glibc', (t) => {
    // `npm install` builds native/malloc_tuning.c; without it everything works, with more page faults.
    const glibc = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
    if (!glibc.header?.glibcVersionRuntime) return t.skip('not glibc: its malloc settings do not apply');
    const taken = retainFreedMemory();
    if (!taken && process.env.CI !== 'true') return t.skip('native/malloc_tuning.c was not built (node-gyp); run `npm install`');
    assert.equal(taken, true, 'glibc refused the malloc settings, or build/Release/malloc_tuning.node did not build: check the node-gyp output of `npm ci`');
  });

  it('takes the huge page size from the kernel', (t) => {
    const pmd = '/sys/kernel/mm/transparent_hugepage/hpage_pmd_size';
    if (process.platform !== 'linux' || !existsSync(pmd)) return t.skip('no transparent huge pages in this kernel');
    if (HUGE_PAGE_SIZE === 0 && process.env.CI !== 'true') return t.skip('native/malloc_tuning.c was not built (node-gyp); run `npm install`');
    assert.equal(HUGE_PAGE_SIZE, Number(readFileSync(pmd, 'utf8').trim()));
    assert.equal(canAdviseHugePages, true);
  });
});
