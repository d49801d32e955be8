import { CairnError } from '../domain/errors.js';
import { StoreUnavailableError } from '../store/chunk-store.js';

/**
 * What a caller is told when the chunk store is down: to try again later, not
 * where the store is (the operator's message, naming the chunk, the bucket and
 * the endpoint, stays the cause, which the server logs with every 5xx).
 */
export function storeUnavailable(err: StoreUnavailableError): CairnError {
  const out = new CairnError(503, 'store_unavailable', 'The server\'s chunk store is unavailable (down or overloaded) and did not recover while the request was retried; nothing of this request was committed: try again in a while.');
  return Object.assign(out, { cause: err });
}

/** Runs a store operation, turning an unavailable store into a 503 for the caller. */
export async function withStore<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw err instanceof StoreUnavailableError ? storeUnavailable(err) : err;
  }
}
