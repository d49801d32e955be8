/**
 * Where a new point goes (QingCloud's model): `full` starts a chain; `incremental`
 * extends the resource's active chain from its head, unless there is none or it
 * is full, in which case it starts a chain too.
 */
export type Placement = { type: 'full' } | { type: 'incremental'; chainId: string; parentId: string };

export function placePoint(input: {
  requested: 'full' | 'incremental';
  active: { id: string; head: string; length: number } | null;
  maxLength: number;
}): Placement {
  const { requested, active, maxLength } = input;
  if (requested === 'full' || !active || active.length >= maxLength) return { type: 'full' };
  return { type: 'incremental', chainId: active.id, parentId: active.head };
}
