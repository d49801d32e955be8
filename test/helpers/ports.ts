import { createServer, type AddressInfo } from 'node:net';

/** A port free on 127.0.0.1 a moment ago, for a program that takes no `--port 0` (radosgw, nginx). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
