// Cairn over HTTPS against Cairn over plain HTTP (issue 30), in one run on one disk:
//
//   npm run bench:tls -- [--quick] [--rounds N] [--seed S] [--cairn DIR]   (bench/pair.ts; target ≤ 1.15×)
//
// The ratio is what TLS costs a transfer. The CA and the server's certificate are
// made with openssl, as the tests make theirs (test/helpers/tls.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCa, makeServerCert } from '../test/helpers/tls.js';
import { runPair } from './pair.js';

await runPair({
  title: 'Cairn over HTTPS against plain HTTP',
  results: 'tls',
  variants: ['http', 'https'],
  target: 1.15,
  async prepare(work) {
    const certs = join(work, 'certs');
    await mkdir(certs);
    const ca = await makeCa(certs, 'bench');
    const cert = await makeServerCert(certs, ca, 'server');
    return { http: {}, https: { tls: { certFile: cert.certFile, keyFile: cert.keyFile, caFile: ca.certFile } } };
  },
});
