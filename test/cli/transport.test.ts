import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import tls from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { CairnClient } from '../../src/cli/http-client.js';
import { resolveClient } from '../../src/cli/config-file.js';
import { isLoopback, Transport, transportFrom } from '../../src/cli/transport.js';
import { makeCa, makeServerCert } from '../helpers/tls.js';

let dir: string;
let caFile: string;
let server: tls.Server;
let port: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-transport-'));
  const ca = await makeCa(dir, 'unit');
  caFile = ca.certFile;
  const cert = await makeServerCert(dir, ca, 'unit-server');
  server = tls.createServer({ cert: await readFile(cert.certFile), key: await readFile(cert.keyFile) }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
after(() => rm(dir, { recursive: true, force: true }));

const refusal = (fn: () => unknown): CairnError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CairnError, String(err));
    return err;
  }
  assert.fail('not refused');
};

describe('isLoopback', () => {
  it('is this machine: localhost, 127.0.0.0/8, ::1', () => {
    for (const host of ['localhost', 'LOCALHOST', 'api.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]']) assert.ok(isLoopback(host), host);
  });
  it('is nothing else, whatever it looks like', () => {
    for (const host of ['10.0.0.1', '192.168.1.5', '0.0.0.0', '128.0.0.1', '[::]', '[::2]', '[fe80::1]', 'example.com', 'localhost.example.com', '127.0.0.1.nip.io', 'backup'])
      assert.ok(!isLoopback(host), host);
  });
});

describe('plain HTTP to another machine', () => {
  it('is refused when a client is made, naming the flag and the HTTPS way', () => {
    const err = refusal(() => new CairnClient({ server: 'http://10.1.2.3:8080', token: 'cairn_x' }));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'insecure_http');
    assert.match(err.message, /^Refusing plain HTTP to 10\.1\.2\.3:8080: .*unencrypted\. Use https:\/\/10\.1\.2\.3:8080 .*--insecure-http \(or set CAIRN_INSECURE_HTTP=true\)/);
    refusal(() => new CairnClient({ server: 'http://backup.example.net' }));
  });

  it('is allowed to loopback, over HTTPS anywhere, and with --insecure-http or CAIRN_INSECURE_HTTP', () => {
    new CairnClient({ server: 'http://127.0.0.1:8080' });
    new CairnClient({ server: 'http://localhost:8080' });
    new CairnClient({ server: 'http://[::1]:8080' });
    new CairnClient({ server: 'https://10.1.2.3' });
    new CairnClient({ server: 'http://10.1.2.3', transport: transportFrom({ insecureHttp: true }, {}) });
    new CairnClient({ server: 'http://10.1.2.3', transport: transportFrom({}, { CAIRN_INSECURE_HTTP: 'yes' }) });
    refusal(() => new CairnClient({ server: 'http://10.1.2.3', transport: transportFrom({}, { CAIRN_INSECURE_HTTP: '0' }) }));
  });

  it('keeps the rule on a client derived with another login', () => {
    const client = new CairnClient({ server: 'http://10.1.2.3', transport: transportFrom({ insecureHttp: true }, {}) });
    assert.equal(client.with({ token: 'cairn_y' }).transport, client.transport);
  });

  it('is refused by resolveClient for a server from the environment, before any token is looked at', async () => {
    const err = await resolveClient({}, { env: { CAIRN_SERVER: 'http://10.1.2.3:8080', CAIRN_TOKEN: 'cairn_z' }, configFile: join(dir, 'none.json') }).catch((e: unknown) => e);
    assert.ok(err instanceof CairnError && err.code === 'insecure_http', String(err));
  });

  it('CAIRN_INSECURE_HTTP takes true or false, nothing else', () => {
    assert.match(refusal(() => transportFrom({}, { CAIRN_INSECURE_HTTP: 'maybe' })).message, /CAIRN_INSECURE_HTTP must be true or false, got "maybe"/);
  });
});

describe('the CA to trust (--ca, CAIRN_CA)', () => {
  it('none: Node\'s own CAs, one transport for all', () => {
    assert.equal(transportFrom({}, {}), Transport.standard);
    assert.deepEqual(Transport.standard.tlsOptions, {});
  });

  it('given: trusted beside Node\'s CAs, the flag before the environment, one transport per file', async () => {
    const other = join(dir, 'other.pem');
    await writeFile(other, 'not used');
    const t = transportFrom({ ca: caFile }, { CAIRN_CA: other });
    assert.equal(t.options.caFile, caFile);
    const { secureContext } = t.tlsOptions;
    assert.ok(secureContext, 'a context of its own');
    assert.equal(t.tlsOptions.secureContext, secureContext, 'made once, for every connection');
    assert.equal(transportFrom({}, { CAIRN_CA: caFile }), t, 'the same file: the same connections');
  });

  it('trusts the CA given on its connections, and no other context comes to trust it', async () => {
    const handshake = (options: tls.ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => {
          resolve('trusted');
          socket.destroy();
        });
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
    const transport = transportFrom({ ca: caFile }, {});
    assert.equal(await handshake(transport.tlsOptions), 'trusted');
    // Adding the CA copied Node's shared store rather than changing it.
    assert.equal(await handshake({}), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(await handshake(Transport.standard.tlsOptions), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(await handshake({ secureContext: tls.createSecureContext() }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('refuses a file it cannot read, or one without a PEM certificate, naming it', async () => {
    assert.match(refusal(() => transportFrom({ ca: join(dir, 'missing.pem') }, {})).message, /Cannot read the CA certificate .*missing\.pem \(--ca \/ CAIRN_CA\): ENOENT/);
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'hello');
    assert.match(refusal(() => transportFrom({}, { CAIRN_CA: junk })).message, /junk\.pem \(--ca \/ CAIRN_CA\) holds no PEM certificate/);
  });
});
