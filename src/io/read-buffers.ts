import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Node hands every socket read to JavaScript as a buffer of its own (up to
 * 64 KiB, from malloc), which V8 frees only at its next collection; and a
 * process that copies request and answer bodies into recycled buffers
 * allocates almost nothing else, so that collection comes late, after tens
 * of megabytes of such buffers. A server taking a backup of the 2 GiB
 * benchmark disk grew its malloc heap from 7 to 41 MB this way, which glibc
 * then keeps (malloc-tuning.ts). A minor collection after every 8 MiB read
 * freed them while they were few: the heap stayed at 18 MB, and the server's
 * peak went from 218 to 197 MB. Every 16 MiB is the balance now: with 8, a
 * 2 GiB backup cost the server 80 such collections (89 minor collections in
 * all, 0.13 s of wall time on its main thread), and halving them made the
 * full backup faster in 5 of 6 A/B pairs (by 0.05 s in the median pair, the
 * server's CPU lower or equal in each), for 6–10 MB more at its peak.
 *
 * V8 offers no call to ask for a collection unless started with
 * --expose-gc, which a CLI run as `cairn …` cannot pass to its own node: the
 * flag is set here instead, and takes effect in the new context that hands
 * back the function.
 */
export const COLLECT_EVERY = 16 * 1024 * 1024;

let collectMinor: (() => void) | null | undefined;
let sinceCollected = 0;

/** Counts bytes a body read took from a socket, collecting their buffers every COLLECT_EVERY bytes. */
export function noteBytesRead(length: number): void {
  sinceCollected += length;
  if (sinceCollected < COLLECT_EVERY) return;
  sinceCollected = 0;
  collectMinor ??= minorCollector();
  collectMinor?.();
}

function minorCollector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return null;
    return () => (gc as (options: { type: 'minor' }) => void)({ type: 'minor' });
  } catch {
    return null;
  }
}
