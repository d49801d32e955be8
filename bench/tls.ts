// Cairn over HTTPS against Cairn over plain HTTP (issue 30), in one run on one disk:
//
//   npm run bench:tls -- [--quick] [--rounds N] [--seed S] [--cairn DIR]   (bench/pair.ts; target ≤ 1.15×)
//
// The ratio is what TLS costs a transfer. The CA and the server's certificate are
// made with openssl, as the tests make theirs (test/helpers/tls.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCa, makeServerCert } from '../test/helpers/tls.js';
import { loopbackCosts } from './loopback-transfer.js';
import { runPair } from './pair.js';

const MB = 1e6;
/** The pieces the bare transfer writes: about a mean blob (a 4 MiB chunk, compressed). */
const PIECE = 2 * 1024 * 1024;

let served: { certFile: string; keyFile: string } | undefined;

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
    served = cert;
    return { http: {}, https: { tls: { certFile: cert.certFile, keyFile: cert.keyFile, caFile: ca.certFile } } };
  },
  // Node's TLS with nothing of Cairn's, for the bytes a step moves: the floor of what HTTPS can cost here.
  async ownCost(bytes) {
    const { tcp, tls } = await loopbackCosts({ bytes, piece: PIECE, tls: served! }, 5);
    return {
      what: `\nTLS on its own: ${(bytes / MB).toFixed(0)} MB from one node process to another over loopback, no Cairn, median of 5: TCP ${tcp.cpu.toFixed(2)} CPU-s, TLS ${tls.cpu.toFixed(2)} CPU-s`,
      cpu: tls.cpu - tcp.cpu,
    };
  },
});
