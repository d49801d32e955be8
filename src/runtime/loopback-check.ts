import { once } from 'node:events';
import type { Server } from 'node:net';
import { errorLine, inactive, type Verdict } from './verdict.js';

/** How long a check may take, start to end: a server's start, or a CLI's first chunk stream, waits for it. */
const CHECK_TIMEOUT_MS = 2_000;

/** What a check opens besides the server, destroyed when it ends however it ends. */
export type Closable = { destroy(): unknown };

/**
 * Runs a check of a trick against `server`, listening on a loopback port:
 * the check connects to it, registers what it opened with `keep`, and says
 * what it saw. It is given up after CHECK_TIMEOUT_MS, handshake and all; a
 * throw becomes an inactive verdict naming `what` could not be checked.
 */
export async function checkOnLoopback(server: Server, what: string, check: (port: number, keep: (opened: Closable) => void) => Promise<Verdict>): Promise<Verdict> {
  const opened: Closable[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => resolve(inactive(`${what}: nothing came within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  const run = async (): Promise<Verdict> => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return check((server.address() as { port: number }).port, (item) => void opened.push(item));
  };
  try {
    return await Promise.race([run(), timeout]);
  } catch (err) {
    return inactive(`${what}: ${errorLine(err)}`);
  } finally {
    clearTimeout(timer);
    for (const item of opened) item.destroy();
    server.close();
  }
}
