import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Semaphore, settleAll } from '../../src/compute/concurrency.js';

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

describe('Semaphore', () => {
  it('runs at most its permits at once, in the order asked, and passes on values and errors', async () => {
    const limit = new Semaphore(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (i: number) =>
      limit.run(async () => {
        started.push(i);
        running += 1;
        most = Math.max(most, running);
        await sleep(5 * (4 - (i % 3)));
        running -= 1;
        if (i === 3) throw new Error('task 3 failed');
        return i * 10;
      });
    const outcomes = await Promise.allSettled([0, 1, 2, 3, 4, 5].map(task));
    assert.equal(most, 2);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
      [0, 10, 20, 'task 3 failed', 40, 50],
    );
    // A failure gave its permit back: two run at once again.
    await Promise.all([task(6), task(7)]);
    assert.equal(running, 0);
  });

  it('refuses a count of permits that is not a positive integer', () => {
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
