import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { IaasError, retCodeOf } from '../../src/api/iaas/errors.js';
import { IaasParams } from '../../src/api/iaas/params.js';
import { canonicalQuery, sign, signatureMatches } from '../../src/api/iaas/signature.js';
import { qcCanonicalQuery, qcSignature } from '../helpers/qingcloud.js';

// The vector of issue 31, computed with QingCloud's own Python SDK.
const VECTOR = {
  secret: 'SECRETACCESSKEY',
  params: {
    access_key_id: 'QYACCESSKEYIDEXAMPLE',
    action: 'DescribeSnapshots',
    limit: '20',
    search_word: 'web backup',
    signature_method: 'HmacSHA256',
    signature_version: '1',
    snapshot_type: '1',
    'snapshots.1': 'ss-abcd1234',
    time_stamp: '2026-12-06T14:30:10Z',
    version: '1',
    zone: 'pek3',
  },
  query:
    'access_key_id=QYACCESSKEYIDEXAMPLE&action=DescribeSnapshots&limit=20&search_word=web%20backup&signature_method=HmacSHA256&signature_version=1&snapshot_type=1&snapshots.1=ss-abcd1234&time_stamp=2026-12-06T14%3A30%3A10Z&version=1&zone=pek3',
  get: 'yEMCwJIkOXNkiw0iyHA+MJxehY+4XenHaMFtJXQAU1A=',
  post: 'a+tqUiXJRa3csytuNdNquJhU5R1hPud818yT8CoCHso=',
};

/** The parameters in a shuffled order, with the signature among them: the server must sort and leave it out. */
function shuffled(extra: Record<string, string> = {}): Map<string, string> {
  return new Map(Object.entries({ ...VECTOR.params, ...extra }).reverse());
}

test('the issue\'s vector: the canonical query and both signatures, from the server and from the test client', () => {
  assert.equal(canonicalQuery(shuffled({ signature: 'ignored' })), VECTOR.query);
  assert.equal(sign(VECTOR.secret, 'GET', shuffled({ signature: 'ignored' }), 'HmacSHA256'), VECTOR.get);
  assert.equal(sign(VECTOR.secret, 'POST', shuffled(), 'HmacSHA256'), VECTOR.post);
  // The test client, written from QingCloud's documentation, agrees.
  assert.equal(qcCanonicalQuery(VECTOR.params), VECTOR.query);
  assert.equal(qcSignature(VECTOR.secret, 'GET', VECTOR.query), VECTOR.get);
  assert.equal(qcSignature(VECTOR.secret, 'POST', VECTOR.query), VECTOR.post);
  // A signature sent URL-encoded arrives decoded and matches; another secret's does not.
  const sent = new URLSearchParams(`signature=${encodeURIComponent(VECTOR.get)}`).get('signature')!;
  assert.ok(signatureMatches(VECTOR.get, sent));
  assert.ok(!signatureMatches(sign('OTHERSECRET', 'GET', shuffled(), 'HmacSHA256'), sent));
});

test('HmacSHA1 signs the same string with SHA-1', () => {
  const params = shuffled({ signature_method: 'HmacSHA1' });
  const query = qcCanonicalQuery(Object.fromEntries(params));
  assert.equal(sign(VECTOR.secret, 'GET', params, 'HmacSHA1'), qcSignature(VECTOR.secret, 'GET', query, 'HmacSHA1'));
  assert.notEqual(sign(VECTOR.secret, 'GET', params, 'HmacSHA1'), sign(VECTOR.secret, 'GET', params, 'HmacSHA256'));
});

test('encoding: RFC 3986 unreserved characters only, UTF-8, uppercase hex; names sort by code unit', () => {
  const params = new Map([
    ['snapshots.10', 'b'],
    ['snapshots.2', 'a'],
    ['search_word', "it's (all) *mine*! 备份 a+b/c~d"],
  ]);
  assert.equal(
    canonicalQuery(params),
    'search_word=it%27s%20%28all%29%20%2Amine%2A%21%20%E5%A4%87%E4%BB%BD%20a%2Bb%2Fc~d&snapshots.10=b&snapshots.2=a',
  );
  assert.equal(canonicalQuery(params), qcCanonicalQuery(Object.fromEntries(params)));
});

const parse = (q: string) => IaasParams.parse(new URLSearchParams(q));
const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return retCodeOf(err).ret_code;
  }
  return 0;
};

test('parameters: lists numbered from 1 without gaps, no repeats, limit 1 to 100, whole numbers and 0/1 flags', () => {
  assert.deepEqual(parse('snapshots.2=b&snapshots.1=a&snapshots.3=c').list('snapshots'), ['a', 'b', 'c']);
  assert.deepEqual(parse('zone=pek3').list('snapshots'), []);
  assert.equal(code(() => parse('snapshots.1=a&snapshots.3=c').list('snapshots')), 1100);
  assert.equal(code(() => parse('snapshots.2=a').list('snapshots')), 1100);
  assert.equal(code(() => parse('snapshots.1=').list('snapshots')), 1100);
  assert.equal(code(() => parse('snapshots.1=a&snapshots.2=a').requiredList('snapshots')), 1100);
  assert.equal(code(() => parse('zone=a').requiredList('snapshots')), 1100);
  assert.equal(code(() => parse('limit=1&limit=2')), 1100);
  assert.deepEqual(parse('limit=100&offset=5').page(), { offset: 5, limit: 100 });
  assert.deepEqual(parse('').page(), { offset: 0, limit: 20 });
  for (const bad of ['limit=101', 'limit=0', 'limit=1.5', 'limit=ten', 'offset=-1']) assert.equal(code(() => parse(bad).page()), 1100, bad);
  assert.equal(parse('is_full=1').flag('is_full'), true);
  assert.equal(code(() => parse('is_full=yes').flag('is_full')), 1100);
  assert.equal(code(() => parse('a=1').required('snapshot')), 1100);
});

test('Cairn\'s errors become QingCloud\'s codes in one place', () => {
  const cases: [unknown, number][] = [
    [new CairnError(400, 'bad_request', 'x'), 1100],
    [new CairnError(401, 'unauthorized', 'x'), 1200],
    [new IaasError(1300, 'x'), 1300],
    [new CairnError(403, 'forbidden', 'x'), 1400],
    [new CairnError(404, 'not_found', 'x'), 2100],
    [new CairnError(409, 'point_not_available', 'x'), 2400],
    [new CairnError(409, 'too_many_recipients', 'x'), 2500],
    [new CairnError(409, 'too_many_shares', 'x'), 2500],
    [new Error('boom'), 5000],
  ];
  for (const [err, ret] of cases) assert.equal(retCodeOf(err).ret_code, ret, String(err));
  // An internal error's own words stay in the log.
  assert.doesNotMatch(retCodeOf(new Error('secret detail')).message, /secret detail/);
});
