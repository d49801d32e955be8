import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { settleAll } from '../../src/engine/concurrency.js';

describe('settleAll', () => {
  it('gives the values in order', async () => {
    assert.deepEqual(await settleAll([sleep(20).then(() => 'a'), Promise.resolve('b')]), ['a', 'b']);
    assert.deepEqual(await settleAll([]), []);
  });

  it('throws the first failure only once every promise has settled', async () => {
    let slowDone = false;
    const slow = sleep(30).then(() => {
      slowDone = true;
    });
    await assert.rejects(settleAll([Promise.reject(new Error('first')), slow, Promise.reject(new Error('second'))]), /first/);
    assert.equal(slowDone, true, 'the slow one had finished before the error came');
  });
});
