import { defaultMaxListeners, setMaxListeners } from 'node:events';

/**
 * Runs task(0..total-1) with at most `concurrency` running at once. The first
 * failure aborts `controller` (so running tasks can give up early), no new task
 * starts, and the error is rethrown only once every running task has settled:
 * callers may then release resources the tasks were using.
 */
export async function runConcurrently(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
  controller: AbortController,
): Promise<void> {
  checkPositiveInteger('concurrency', concurrency);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const lane = async (): Promise<void> => {
    while (!failed && next < total) {
      const index = next++;
      try {
        controller.signal.throwIfAborted();
        await task(index);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
          controller.abort(err);
        }
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  if (failed) throw firstError;
}

/**
 * The values of `promises` once every one has settled, the first rejection
 * (in their order) thrown only then. For work that uses memory the caller
 * reuses as soon as this returns: Promise.all would give it back at the
 * first failure, while the rest still read or write it.
 */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const values: T[] = [];
  for (const outcome of await Promise.allSettled(promises)) {
    if (outcome.status === 'rejected') throw outcome.reason;
    values.push(outcome.value);
  }
  return values;
}

/**
 * At most `permits` runs at once; the others wait their turn, first come
 * first served. Bounds the memory of work that each holds a buffer.
 */
export class Semaphore {
  private readonly waiting: (() => void)[] = [];

  constructor(private permits: number) {
    checkPositiveInteger('permits', permits);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.permits > 0) this.permits -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The permit passes straight to the next in line, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.permits += 1;
    }
  }
}

/**
 * An AbortController that also aborts when `parent` does; call `dispose` when
 * done. Every request in flight listens to its signal (Node's HTTP client adds
 * a listener per request), so a pipeline says how many it runs at once: past
 * ten listeners Node would warn of a leak that is none.
 */
export function linkedAbortController(parent: AbortSignal | undefined, inFlight: number): { controller: AbortController; dispose: () => void } {
  const controller = new AbortController();
  // Headroom for a source or sink that adds more than one listener per request.
  setMaxListeners(Math.max(defaultMaxListeners, 2 * inFlight), controller.signal);
  if (!parent) return { controller, dispose: () => {} };
  const onAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) onAbort();
  else parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}

export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}
