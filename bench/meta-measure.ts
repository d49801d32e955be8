import { performance } from 'node:perf_hooks';
import { MetaClient } from './meta-client.js';
import { accountEmail, heavyChains, type MetaShape } from './meta-shape.js';

export const TARGET_P99_MS = 15;

export interface OpResult {
  name: string;
  /** Which accounts took turns, e.g. "10 heavy + 10 typical owners". */
  who: string;
  samples: number[];
}

interface ListPage<T> {
  total_count: number;
  items: T[];
  next_cursor?: string | null;
}
interface ChainItem {
  id: string;
  name: string;
  status: string;
}

/** The accounts measured: the heavy owners and recipients of the shape, and typical ones spread over the rest. */
export function measuredAccounts(s: MetaShape): { heavyOwners: number[]; heavyRecipients: number[]; typical: number[] } {
  const range = (from: number, n: number, step = 1) => Array.from({ length: n }, (_, i) => from + i * step);
  const step = Math.floor((s.accounts - 2 * s.heavy) / 10);
  return { heavyOwners: range(0, s.heavy), heavyRecipients: range(s.heavy, s.heavy), typical: range(2 * s.heavy + 7, 10, step) };
}

/** A position about halfway down a heavy owner's chain list, on a boundary of 20-item pages. */
export function deepPosition(s: MetaShape): number {
  const perHeavy = heavyChains(s) / s.heavy;
  return Math.floor(perHeavy / 2 / 20) * 20;
}

/**
 * The page of `path` that starts at item `position`: by the cursor the server
 * hands out when it does (walked to, untimed), else by offset.
 */
async function deepQuery(c: MetaClient, path: string, position: number): Promise<string> {
  const step = position % 100 === 0 ? 100 : 20;
  const first = await c.call<ListPage<unknown>>('GET', `${path}?limit=${step}`);
  if (first.next_cursor === undefined) return `offset=${position}`;
  let cursor = first.next_cursor;
  for (let at = step; at < position && cursor; at += step) cursor = (await c.call<ListPage<unknown>>('GET', `${path}?limit=${step}&cursor=${encodeURIComponent(cursor)}`)).next_cursor ?? null;
  if (!cursor) throw new Error(`The chain list of ${c.email} ended before item ${position}.`);
  return `cursor=${encodeURIComponent(cursor)}`;
}

/**
 * Times `samples` runs of `run`, the accounts taking turns, after untimed ones that warm the
 * caches: at least 10, and one for every account (a heavy account's first, cold visit would
 * otherwise count: it was 18–22 ms where its later ones took 6–9).
 */
async function timeOp<A>(name: string, who: string, actors: A[], samples: number, run: (a: A, i: number) => Promise<unknown>): Promise<OpResult> {
  for (let i = 0; i < Math.min(Math.max(10, actors.length), samples); i++) await run(actors[i % actors.length]!, -1 - i);
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const a = actors[i % actors.length]!;
    const t = performance.now();
    await run(a, i);
    out.push(performance.now() - t);
  }
  return { name, who, samples: out };
}

/** Every operation of the list, over HTTP against the running server. */
export async function measure(base: string, shape: MetaShape, password: string, samples: number, log: (line: string) => void): Promise<OpResult[]> {
  const who = measuredAccounts(shape);
  const signIn = (a: number) => MetaClient.signIn(base, accountEmail(a), password);
  const heavyOwners = await Promise.all(who.heavyOwners.map(signIn));
  const heavyRecipients = await Promise.all(who.heavyRecipients.map(signIn));
  const typical = await Promise.all(who.typical.map(signIn));
  const owners = [...heavyOwners, ...typical];
  const recipients = [...heavyRecipients, ...typical];
  log(`  signed in ${owners.length + heavyRecipients.length} accounts`);

  // What each account has, read once through the API: its own chains, and the chains shared with it.
  const ownChains = new Map<MetaClient, ChainItem[]>();
  for (const c of owners) ownChains.set(c, (await c.call<ListPage<ChainItem>>('GET', '/api/v1/chains?limit=20')).items);
  const shared = new Map<MetaClient, ChainItem[]>();
  for (const c of recipients) {
    const items = (await c.call<ListPage<ChainItem>>('GET', '/api/v1/shared?limit=20')).items.filter((x) => x.status === 'available');
    if (!items.length) throw new Error(`${c.email} has no available shared chain on its first page.`);
    shared.set(c, items);
  }
  const position = deepPosition(shape);
  const deep = new Map<MetaClient, string>();
  for (const c of heavyOwners) deep.set(c, await deepQuery(c, '/api/v1/chains', position));
  log(`  deep pages at item ${position}: ${deep.get(heavyOwners[0]!)!.startsWith('cursor') ? 'by cursor' : 'by offset'}`);

  const pick = <T>(list: T[], i: number) => list[Math.abs(i) % list.length]!;
  const ownersWho = `${heavyOwners.length} heavy + ${typical.length} typical owners`;
  const recipientsWho = `${heavyRecipients.length} heavy + ${typical.length} typical recipients`;
  const results: OpResult[] = [];
  const op = async (r: Promise<OpResult>) => {
    const done = await r;
    results.push(done);
    log(`  ${done.name}: done`);
  };
  await op(timeOp('chains: first page', ownersWho, owners, samples, (c) => c.call('GET', '/api/v1/chains?limit=20')));
  await op(timeOp(`chains: deep page (item ${position})`, `${heavyOwners.length} heavy owners`, heavyOwners, samples, (c) => c.call('GET', `/api/v1/chains?limit=20&${deep.get(c)}`)));
  await op(timeOp('shared: first page', recipientsWho, recipients, samples, (c) => c.call('GET', '/api/v1/shared?limit=20')));
  await op(
    timeOp('shared: search by name', recipientsWho, recipients, samples, (c, i) => c.call('GET', `/api/v1/shared?limit=20&search=${encodeURIComponent(pick(shared.get(c)!, i).name)}`)),
  );
  await op(timeOp("chain's share list", ownersWho, owners, samples, (c, i) => c.call('GET', `/api/v1/chains/${pick(ownChains.get(c)!, i).id}/shares`)));
  await op(
    timeOp('image from a shared chain', recipientsWho, recipients, samples, (c, i) => c.call('POST', '/api/v1/images', { chain_id: pick(shared.get(c)!, i).id, name: `bench-image-${i}` })),
  );
  // Sharing and cancelling alternate on the same pair, so every share finds the pair free and every cancel finds it shared.
  // Typical owners only: a heavy owner's live shares are at the server's quota (10,000), and it is refused more.
  const available = (c: MetaClient) => ownChains.get(c)!.filter((x) => x.status === 'available');
  const target = (c: MetaClient) => accountEmail((Number(/(\d+)@/.exec(c.email)![1]) + 500) % shape.accounts);
  const shareTimes: number[] = [];
  const cancelTimes: number[] = [];
  for (let i = -10; i < samples; i++) {
    const c = pick(typical, i);
    const chain = pick(available(c), Math.floor(i / typical.length)).id;
    let t = performance.now();
    await c.call('POST', `/api/v1/chains/${chain}/shares`, { recipients: [target(c)] });
    if (i >= 0) shareTimes.push(performance.now() - t);
    t = performance.now();
    await c.call('POST', `/api/v1/chains/${chain}/shares/cancel`, { recipients: [target(c)] });
    if (i >= 0) cancelTimes.push(performance.now() - t);
  }
  const typicalWho = `${typical.length} typical owners`;
  results.push({ name: 'share a chain', who: typicalWho, samples: shareTimes }, { name: 'cancel a share', who: typicalWho, samples: cancelTimes });
  log('  share and cancel: done');
  const everyone = [...heavyOwners, ...heavyRecipients, ...typical];
  await op(timeOp('events: first page', `${everyone.length} accounts (heavy owners, heavy recipients, typical)`, everyone, samples, (c) => c.call('GET', '/api/v1/events?limit=20')));
  return results;
}
