import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { ServerUnreachableError } from '../../src/cli/http-client.js';
import { isTransient, retryIdempotent } from '../../src/cli/retry.js';

describe('retryIdempotent: a step the server never acted on is tried again', () => {
  it('counts a lost connection and a gateway\'s bare 502/503/504 as transient, a Cairn error as final', () => {
    assert.ok(isTransient(new ServerUnreachableError('http://lb', 'connection reset')));
    for (const status of [502, 503, 504]) assert.ok(isTransient(new CairnError(status, 'http_error', 'the balancer has no server')), String(status));
    assert.ok(!isTransient(new CairnError(503, 'store_unavailable', 'the chunk store is down')), 'the server tried its store already');
    assert.ok(!isTransient(new CairnError(409, 'conflict', 'no')));
    assert.ok(!isTransient(new Error('a bug')));
  });

  it('returns what a later try returns after transient failures', async () => {
    let calls = 0;
    const answer = await retryIdempotent(async () => {
      if (++calls < 3) throw new ServerUnreachableError('http://lb', 'the connection closed before the server answered');
      return 'stored';
    });
    assert.equal(answer, 'stored');
    assert.equal(calls, 3);
  });

  it('does not repeat a final error, and gives up after four tries with the last failure', async () => {
    let calls = 0;
    await assert.rejects(
      retryIdempotent(async () => {
        calls++;
        throw new CairnError(404, 'not_found', 'No such upload.');
      }),
      /No such upload/,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      retryIdempotent(async () => {
        calls++;
        throw new ServerUnreachableError('http://lb', `try ${calls}`);
      }),
      /try 4/,
    );
    assert.equal(calls, 4);
  });

  it('stops waiting when the transfer is aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = retryIdempotent(async () => {
      calls++;
      controller.abort(new Error('cancelled by the user'));
      throw new ServerUnreachableError('http://lb', 'connection refused');
    }, controller.signal);
    await assert.rejects(run, /connection refused|cancelled/);
    assert.equal(calls, 1);
  });
});
