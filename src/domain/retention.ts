import { badRequest } from './errors.js';

/** The most automatic chains a task may keep per resource; "forever" (永久保留) is null, not a large N. */
export const MAX_KEEP_CHAINS = 100;

/** A task keeps the newest N automatic chains of each resource, or all of them (null). */
export function checkKeepChains(keep: number | null): number | null {
  if (keep === null) return null;
  if (!Number.isInteger(keep) || keep < 1 || keep > MAX_KEEP_CHAINS)
    throw badRequest(`Keep 1 to ${MAX_KEEP_CHAINS} automatic chains, or null to keep them forever; ${keep} is not allowed.`, 'keep_chains');
  return keep;
}

export interface RetentionCandidate {
  id: string;
  origin: 'manual' | 'automatic';
  created_at: string;
}

/**
 * Which chains of one resource a run's retention sends to the recycle bin:
 * the automatic ones beyond the newest `keep`, oldest first. Manual chains are
 * neither trimmed nor counted: a hand-made backup never pushes an automatic one out.
 */
export function chainsToTrim(chains: RetentionCandidate[], keep: number | null): string[] {
  if (keep === null) return [];
  const automatic = chains
    .filter((c) => c.origin === 'automatic')
    .sort((a, b) => (a.created_at === b.created_at ? b.id.localeCompare(a.id) : b.created_at.localeCompare(a.created_at)));
  return automatic.slice(keep).reverse().map((c) => c.id);
}
