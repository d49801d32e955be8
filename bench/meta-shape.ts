/**
 * The shape of the metadata benchmark's data: how many rows of each kind, and
 * which accounts own or receive what. Seeding (meta-seed.ts) and measuring
 * (meta-measure.ts) both derive their numbers from here, so they agree on
 * which account holds a deep list without asking the database.
 */

export interface MetaShape {
  accounts: number;
  chains: number;
  pointsPerChain: number;
  shares: number;
  /**
   * Heavy owners: accounts 0..heavy-1 hold a tenth of the chains between them,
   * so their chain lists are thousands deep; accounts heavy..2·heavy-1 receive a
   * tenth of the shares. Everyone else holds about chains/accounts chains.
   */
  heavy: number;
}

/** The scale for each engine, multiplied by `scale` (at least 1,000 accounts). */
export function shapeFor(engine: 'postgres' | 'sqlite', scale: number): MetaShape {
  const base = engine === 'postgres' ? { accounts: 100_000, chains: 1_000_000 } : { accounts: 10_000, chains: 100_000 };
  const accounts = Math.max(1000, Math.round(base.accounts * scale));
  const chains = Math.max(10 * accounts, Math.round(base.chains * scale));
  // Chains are made in pairs per resource; an even count keeps every resource with two.
  const even = chains - (chains % 20);
  return { accounts, chains: even, pointsPerChain: 5, shares: even, heavy: 10 };
}

/** Chains of the heavy owners, all at the start of the chain numbering. */
export function heavyChains(s: MetaShape): number {
  return s.chains / 10;
}

/** Bijective scramble of 0..36^8-1 (odd, not a multiple of 3, so coprime to 36^8): ids look random but are computed. */
export const ID_SPACE = 36 ** 8;
export const ID_MULTIPLIER = 2654435761;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The 8 characters after an ID's prefix for number n, as `bench_b36` computes them in SQL. */
export function b36(n: number): string {
  let v = Number((BigInt(n) * BigInt(ID_MULTIPLIER)) % BigInt(ID_SPACE));
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[v % 36] + out;
    v = Math.floor(v / 36);
  }
  return out;
}

export const accountId = (a: number) => `usr-${b36(a)}`;
export const accountEmail = (a: number) => `user${a}@bench.example`;
/** A chain's ID is its full point's: point number chain·pointsPerChain. */
export const chainId = (s: MetaShape, n: number) => `ss-${b36(n * s.pointsPerChain)}`;

/** The owner of resource r (two chains each); SQL twin in meta-seed.ts. */
export function resourceOwner(s: MetaShape, r: number): number {
  return r < heavyChains(s) / 2 ? r % s.heavy : s.heavy + (r % (s.accounts - s.heavy));
}

export const chainOwner = (s: MetaShape, n: number) => resourceOwner(s, Math.floor(n / 2));

/** Chain n is deleted (in the recycle bin) when n % 100 = 99; share j is cancelled when j % 20 = 19. */
export const chainDeleted = (n: number) => n % 100 === 99;
export const shareActive = (j: number) => j % 20 !== 19;
