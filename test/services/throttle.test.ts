import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Throttle, type ThrottleRules } from '../../src/services/login-throttle.js';
import { openTestStore, type TestStore } from '../helpers/db.js';

// The throttle's rules on the engine of this run (`--engine sqlite|postgres`), with its clock in the test's hands.

const RULES: ThrottleRules = { free: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };
let store: TestStore;

before(async () => {
  store = await openTestStore();
});

after(async () => {
  await store?.close();
});

const at = (ms: number) => () => new Date(Date.UTC(2026, 11, 7, 3, 0, 0) + ms).toISOString();

test('within its free attempts a key never waits, even behind a concurrent attempt stamped a little later', async () => {
  const key = 'lookup:usr-race0001';
  // Two lookups of one share dialog on two connections: the second to be counted was stamped first.
  await new Throttle(store.meta.db, RULES, at(5)).begin([key]);
  await new Throttle(store.meta.db, RULES, at(0)).begin([key]);
  await new Throttle(store.meta.db, RULES, at(1)).begin([key]);
  // The fourth attempt is past the free ones: it waits a second after the last.
  await assert.rejects(new Throttle(store.meta.db, RULES, at(500)).begin([key], undefined, 'Too many'), /Too many; wait 1 seconds/);
  await new Throttle(store.meta.db, RULES, at(1_006)).begin([key]);
});
