import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { chainsToTrim, checkKeepChains, MAX_KEEP_CHAINS, type RetentionCandidate } from '../../src/domain/retention.js';

const chain = (id: string, origin: RetentionCandidate['origin'], day: number): RetentionCandidate => ({ id, origin, created_at: `2026-01-${String(day).padStart(2, '0')}T00:00:00.000Z` });

describe('retention of automatic chains', () => {
  const chains = [chain('a1', 'automatic', 1), chain('m1', 'manual', 2), chain('a2', 'automatic', 3), chain('a3', 'automatic', 4), chain('m2', 'manual', 5), chain('a4', 'automatic', 6)];

  test('keeps the newest N automatic chains and trims the older ones, oldest first', () => {
    assert.deepEqual(chainsToTrim(chains, 2), ['a1', 'a2']);
    assert.deepEqual(chainsToTrim(chains, 1), ['a1', 'a2', 'a3']);
  });

  test('manual chains are never trimmed nor counted', () => {
    assert.deepEqual(chainsToTrim(chains, 4), []);
    assert.deepEqual(chainsToTrim([chain('m1', 'manual', 1), chain('m2', 'manual', 2)], 1), []);
  });

  test('forever trims nothing', () => {
    assert.deepEqual(chainsToTrim(chains, null), []);
  });

  test('N = 0 or above the limit is a 400', () => {
    for (const n of [0, -1, 1.5, MAX_KEEP_CHAINS + 1]) assert.throws(() => checkKeepChains(n), (e: unknown) => e instanceof CairnError && e.status === 400 && e.field === 'keep_chains');
    assert.equal(checkKeepChains(MAX_KEEP_CHAINS), MAX_KEEP_CHAINS);
    assert.equal(checkKeepChains(null), null);
  });
});
