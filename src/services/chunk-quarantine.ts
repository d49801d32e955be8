import type { Db } from '../db/connect.js';
import { inBatches } from './batches.js';

/**
 * Quarantines chunks whose blob was found damaged or gone (by verify, or a
 * read that checked it): their rows say 'damaged', so "missing" asks clients
 * for them again, a commit refuses them, and the next upload of each replaces
 * its blob (uploads.ts). Chunks are shared: whoever sends the good copy first
 * heals every point that names it. Only stored rows change: one being
 * uploaded meanwhile ('pending') is left to its upload.
 */
export async function quarantineChunks(db: Db, digests: Iterable<string>): Promise<void> {
  await inBatches([...new Set(digests)], 500, async (batch) => {
    await db.updateTable('chunks').set({ state: 'damaged' }).where('digest', 'in', batch).where('state', '=', 'stored').execute();
  });
}
