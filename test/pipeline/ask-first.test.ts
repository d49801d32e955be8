import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AskFirst } from '../../src/pipeline/ask-first.js';

/** The next `n` decisions, each asked batch answered with `lacked` of 4 chunks missing. */
function decisions(policy: AskFirst, n: number, lacked = 4): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const ask = policy.next();
    if (ask) policy.learn(4, lacked);
    out += ask ? 'A' : '-';
  }
  return out;
}

describe('AskFirst', () => {
  it('asks until three answers in a row found every chunk missing, then one batch in eight', () => {
    assert.equal(decisions(new AskFirst(3, 8), 3 + 24), 'AAA' + '-------A'.repeat(3));
  });

  it('keeps asking every batch while the store holds some of the chunks', () => {
    assert.equal(decisions(new AskFirst(3, 8), 12, 3), 'A'.repeat(12));
  });

  it('goes back to asking every batch when a probe finds a chunk held', () => {
    const policy = new AskFirst(3, 8);
    assert.equal(decisions(policy, 11), 'AAA-------A');
    assert.equal(policy.next(), false);
    policy.learn(4, 3); // an answer that arrives late, from a batch asked earlier
    assert.equal(decisions(policy, 5), 'AAA--', 'three all-missing answers again before it trusts');
  });

  it('learns nothing from a batch without chunks outside the hint', () => {
    const policy = new AskFirst(3, 8);
    policy.learn(0, 0);
    policy.learn(0, 0);
    policy.learn(0, 0);
    assert.equal(policy.next(), true);
  });
});
