import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError } from '../domain/errors.js';
import { ServerUnreachableError } from './http-client.js';

/**
 * Pauses before the second, third and fourth try. Behind a load balancer the
 * next try reaches another server at once; the later ones cover a balancer that
 * has not yet marked a dead server down, or one server restarting alone.
 */
const PAUSES_MS = [250, 1_000, 3_000];

/**
 * A failure that says nothing about the request itself: no server answered (a
 * refused or broken connection), or a gateway in front answered 502, 503 or 504
 * with no Cairn error of its own. A Cairn server's 503 (its store is down) has
 * been retried by the server already and is final.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ServerUnreachableError) return true;
  return err instanceof CairnError && (err.status === 502 || err.status === 503 || err.status === 504) && err.code === 'http_error';
}

/**
 * Runs `step` again after a transient failure, up to four tries in all. Only for
 * steps that may run twice: reads, PUTs, chunk uploads, which are stored by
 * their content address, so a batch the dead server did store is only stored again,
 * opening an upload with a request key, and its commit, which answers again with the point it made.
 */
export async function retryIdempotent<T>(step: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (attempt >= PAUSES_MS.length || !isTransient(err) || signal?.aborted) throw err;
      await sleep(PAUSES_MS[attempt], undefined, { signal });
    }
  }
}
