import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { pageQuery, parseCount, parseDisk, parseSeconds, parseSize, requireYes } from '../../src/cli/options.js';

const GiB = 1024 ** 3;

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof CairnError && err.status === 400 && pattern.test(err.message));
}

describe('parseSize', () => {
  it('takes plain bytes', () => {
    assert.equal(parseSize('1'), 1);
    assert.equal(parseSize('4096'), 4096);
    assert.equal(parseSize('512B'), 512);
  });

  it('reads K/M/G/T/P as powers of 1024, in any case, with or without iB', () => {
    assert.equal(parseSize('1K'), 1024);
    assert.equal(parseSize('512M'), 512 * 1024 ** 2);
    assert.equal(parseSize('512Mi'), 512 * 1024 ** 2);
    assert.equal(parseSize('20G'), 20 * GiB);
    assert.equal(parseSize('20g'), 20 * GiB);
    assert.equal(parseSize('20GiB'), 20 * GiB);
    assert.equal(parseSize('20 GiB'), 20 * GiB);
    assert.equal(parseSize('2T'), 2 * 1024 ** 4);
    assert.equal(parseSize('1P'), 1024 ** 5);
  });

  it('accepts fractions that come to whole bytes', () => {
    assert.equal(parseSize('1.5G'), 1.5 * GiB);
    assert.equal(parseSize('0.5K'), 512);
  });

  it('refuses fractions of a byte, zero, and unsafe integers', () => {
    rejects(() => parseSize('1.5'), /whole number of bytes/);
    rejects(() => parseSize('0.1K'), /whole number of bytes/);
    rejects(() => parseSize('0'), /more than zero/);
    rejects(() => parseSize('0G'), /more than zero/);
    rejects(() => parseSize('99999P'), /too large/);
  });

  it('refuses decimal units with a hint, and garbage', () => {
    rejects(() => parseSize('20GB'), /not GB/);
    rejects(() => parseSize('20kb'), /not GB/);
    rejects(() => parseSize(''), /is not a size/);
    rejects(() => parseSize('-1G'), /is not a size/);
    rejects(() => parseSize('1e9'), /is not a size/);
    rejects(() => parseSize('G'), /is not a size/);
    rejects(() => parseSize('20X'), /is not a size/);
  });
});

describe('parseDisk', () => {
  it('splits name and size at the last colon', () => {
    assert.deepEqual(parseDisk('root:20G'), { name: 'root', size: 20 * GiB });
    assert.deepEqual(parseDisk('db:data:100G'), { name: 'db:data', size: 100 * GiB });
    assert.deepEqual(parseDisk(' data :100'), { name: 'data', size: 100 });
  });

  it('names the --disk flag when the spec is wrong', () => {
    rejects(() => parseDisk('root'), /--disk "root" must be name:size/);
    rejects(() => parseDisk(':20G'), /must be name:size/);
    rejects(() => parseDisk('root:'), /must be name:size/);
    rejects(() => parseDisk('root:big'), /--disk "root:big": "big" is not a size/);
  });
});

describe('parseCount and pageQuery', () => {
  it('passes an absent flag through and parses whole numbers', () => {
    assert.equal(parseCount(undefined, '--offset'), undefined);
    assert.equal(parseCount('0', '--offset'), 0);
    assert.equal(parseCount(' 42 ', '--offset'), 42);
  });

  it('refuses what the server would refuse, naming the flag', () => {
    rejects(() => parseCount('-1', '--offset'), /--offset must be a whole number from 0 or more, not "-1"/);
    rejects(() => parseCount('1.5', '--offset'), /--offset/);
    rejects(() => parseCount('ten', '--offset'), /--offset/);
    rejects(() => pageQuery({ limit: '0' }), /--limit must be a whole number from 1 to 100/);
    rejects(() => pageQuery({ limit: '101' }), /--limit/);
  });

  it('builds the query of a list request', () => {
    assert.deepEqual(pageQuery({}), { offset: undefined, limit: undefined });
    assert.deepEqual(pageQuery({ offset: '20', limit: '100' }), { offset: 20, limit: 100 });
  });
});

describe('parseSeconds', () => {
  it('accepts fractions above zero only', () => {
    assert.equal(parseSeconds(undefined, '--timeout'), undefined);
    assert.equal(parseSeconds('1.5', '--timeout'), 1.5);
    rejects(() => parseSeconds('0', '--timeout'), /--timeout must be a number of seconds above zero/);
    rejects(() => parseSeconds('soon', '--timeout'), /--timeout/);
  });
});

describe('requireYes', () => {
  it('refuses a deletion without --yes, saying how to confirm', () => {
    rejects(() => requireYes(undefined, 'resource vol-aaaaaaaa', 'it is gone for good.'), /without --yes: it is gone for good\. Run the command again with --yes/);
    assert.doesNotThrow(() => requireYes(true, 'resource vol-aaaaaaaa', 'x'));
  });
});
