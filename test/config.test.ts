import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';

describe('loadConfig: the chunk store', () => {
  it('keeps chunks in the folder unless a bucket is named', () => {
    const c = loadConfig({ dataDir: '/srv/cairn' }, {});
    assert.equal(c.s3, null);
    assert.equal(c.chunkDir, '/srv/cairn/chunks');
  });

  it('reads s3://BUCKET[/PREFIX], the endpoint and path style from flags or CAIRN_* variables', () => {
    const flags = loadConfig({ chunkStore: 's3://backups/site-a/', s3Endpoint: 'https://rgw.example.net', s3PathStyle: true }, { AWS_REGION: 'eu-1' });
    assert.deepEqual(flags.s3, { bucket: 'backups', prefix: 'site-a/', endpoint: 'https://rgw.example.net', pathStyle: true, region: 'eu-1' });
    const env = loadConfig({}, { CAIRN_CHUNK_STORE: 's3://backups', CAIRN_S3_ENDPOINT: 'https://rgw.example.net', CAIRN_S3_PATH_STYLE: 'false' });
    assert.deepEqual(env.s3, { bucket: 'backups', prefix: '', endpoint: 'https://rgw.example.net', pathStyle: false, region: 'us-east-1' });
    assert.equal(loadConfig({}, { CAIRN_CHUNK_STORE: 's3://backups' }).s3?.endpoint, null, 'no endpoint: AWS S3');
  });

  it('addresses the bucket in the path where a host name cannot carry it (an IP address, localhost)', () => {
    for (const endpoint of ['http://127.0.0.1:7480', 'http://localhost:9000', 'http://[::1]:7480'])
      assert.equal(loadConfig({ chunkStore: 's3://b-1', s3Endpoint: endpoint }, {}).s3?.pathStyle, true, endpoint);
  });

  it('refuses what it cannot use, saying what to write instead', () => {
    assert.throws(() => loadConfig({ chunkStore: '/var/chunks' }, {}), /must be s3:\/\/BUCKET\[\/PREFIX\].*--chunk-dir/);
    assert.throws(() => loadConfig({ chunkStore: 's3://Bad_Bucket' }, {}), /not a valid S3 bucket name/);
    assert.throws(() => loadConfig({ chunkStore: 's3://backups', s3Endpoint: 'rgw:7480' }, {}), /must be an http:\/\/ or https:\/\/ URL/);
    assert.throws(() => loadConfig({ chunkStore: 's3://backups', s3Endpoint: 'not a url' }, {}), /must be a URL/);
    assert.throws(() => loadConfig({ s3Endpoint: 'http://127.0.0.1:7480' }, {}), /no bucket: add --chunk-store/);
    assert.throws(() => loadConfig({ chunkStore: 's3://backups' }, { CAIRN_S3_PATH_STYLE: 'maybe' }), /must be true or false/);
  });
});

describe('loadConfig: load balancers in front (--trust-proxy)', () => {
  it('takes addresses and CIDR ranges, from the flag or CAIRN_TRUST_PROXY; none by default', () => {
    assert.deepEqual(loadConfig({}, {}).trustProxy, []);
    assert.deepEqual(loadConfig({ trustProxy: '10.0.0.5, 10.0.1.0/24,::1' }, {}).trustProxy, ['10.0.0.5', '10.0.1.0/24', '::1']);
    assert.deepEqual(loadConfig({}, { CAIRN_TRUST_PROXY: 'fd00::/8' }).trustProxy, ['fd00::/8']);
  });

  it('refuses what is not an address or a range, naming it', () => {
    for (const bad of ['nginx.local', '10.0.0.0/33', '10.0.0.1/8/1', '::1/129', 'true'])
      assert.throws(() => loadConfig({ trustProxy: bad }, {}), new RegExp(`--trust-proxy .*"${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" is neither`), bad);
  });
});

describe('loadConfig: the housekeeping lease', () => {
  it('lasts 30 s unless set by flag or CAIRN_HOUSEKEEPING_LEASE_SECONDS, and refuses less than a second', () => {
    assert.equal(loadConfig({}, {}).housekeepingLeaseMs, 30_000);
    assert.equal(loadConfig({ housekeepingLeaseSeconds: '3' }, { CAIRN_HOUSEKEEPING_LEASE_SECONDS: '9' }).housekeepingLeaseMs, 3_000);
    assert.equal(loadConfig({}, { CAIRN_HOUSEKEEPING_LEASE_SECONDS: '9' }).housekeepingLeaseMs, 9_000);
    assert.throws(() => loadConfig({ housekeepingLeaseSeconds: '0.5' }, {}), /at least 1 second.*"0\.5"/);
    assert.throws(() => loadConfig({ housekeepingLeaseSeconds: 'soon' }, {}), /non-negative number/);
  });
});

describe('loadConfig: mail for backup policies', () => {
  it('no host: no mail; a host needs a sender; the password only from the environment', () => {
    assert.equal(loadConfig({}, {}).smtp, null);
    assert.throws(() => loadConfig({ smtpHost: 'mail.example.net' }, {}), /--smtp-from/);
    const c = loadConfig({ smtpHost: 'mail.example.net', smtpUser: 'cairn', smtpFrom: 'Cairn <b@example.net>' }, { CAIRN_SMTP_PASSWORD: 's3cret' });
    assert.deepEqual(c.smtp, { host: 'mail.example.net', port: 587, user: 'cairn', password: 's3cret', from: 'Cairn <b@example.net>', tls: false });
    const env = loadConfig({}, { CAIRN_SMTP_HOST: 'mail.example.net', CAIRN_SMTP_FROM: 'b@example.net', CAIRN_SMTP_TLS: 'true' });
    assert.equal(env.smtp?.port, 465, 'TLS from the first byte defaults to port 465');
    assert.equal(env.smtp?.user, null);
  });
});

describe('loadConfig: HTTPS', () => {
  it('plain HTTP unless both files are named, by flag or CAIRN_TLS_CERT / CAIRN_TLS_KEY (flags win), as absolute paths', () => {
    assert.equal(loadConfig({}, {}).tls, null);
    assert.deepEqual(loadConfig({ tlsCert: '/etc/cairn/cert.pem', tlsKey: '/etc/cairn/key.pem' }, {}).tls, { certFile: '/etc/cairn/cert.pem', keyFile: '/etc/cairn/key.pem' });
    const env = loadConfig({ tlsKey: '/k.pem' }, { CAIRN_TLS_CERT: 'cert.pem', CAIRN_TLS_KEY: '/env-key.pem' }).tls;
    assert.deepEqual(env, { certFile: resolve('cert.pem'), keyFile: '/k.pem' });
  });

  it('refuses a certificate without its key, or a key without its certificate, saying which is missing', () => {
    assert.throws(() => loadConfig({ tlsCert: '/c.pem' }, {}), /needs both a certificate and its key: add --tls-key FILE \(CAIRN_TLS_KEY\), or drop --tls-cert/);
    assert.throws(() => loadConfig({}, { CAIRN_TLS_KEY: '/k.pem' }), /add --tls-cert FILE \(CAIRN_TLS_CERT\), or drop --tls-key/);
  });
});

describe('loadConfig: the master key file', () => {
  it('is off unless named, by flag or CAIRN_MASTER_KEY_FILE (the flag wins), and refused inside the data directory', () => {
    assert.equal(loadConfig({ dataDir: '/srv/cairn' }, {}).masterKeyFile, null);
    assert.equal(loadConfig({ dataDir: '/srv/cairn' }, { CAIRN_MASTER_KEY_FILE: '/etc/cairn/master.key' }).masterKeyFile, '/etc/cairn/master.key');
    assert.equal(loadConfig({ dataDir: '/srv/cairn', masterKeyFile: '/etc/cairn/other.key' }, { CAIRN_MASTER_KEY_FILE: '/etc/cairn/master.key' }).masterKeyFile, '/etc/cairn/other.key');
    assert.equal(loadConfig({ dataDir: '/srv/cairn', masterKeyFile: '/srv/cairn-keys/master.key' }, {}).masterKeyFile, '/srv/cairn-keys/master.key', 'a sibling folder is outside');
    assert.throws(() => loadConfig({ dataDir: '/srv/cairn', masterKeyFile: '/srv/cairn/master.key' }, {}), /The master key file \/srv\/cairn\/master\.key is inside the data directory \/srv\/cairn; keep it elsewhere/);
  });
});
