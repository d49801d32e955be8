import { DEFAULT_LIMIT, MAX_LIMIT, type PageRequest } from '../../domain/page.js';
import { badParameter } from './errors.js';

/** How many items a `name.N` list may hold: QingCloud's own batch limit. */
export const MAX_LIST = 100;

/**
 * A request's parameters, QingCloud-style: flat names and values, lists as
 * `name.1`, `name.2`…, flags as 0/1. A name given twice is refused: the
 * signature covers one value per name, and which one counts would be a guess.
 */
export class IaasParams {
  private constructor(readonly all: ReadonlyMap<string, string>) {}

  static parse(pairs: Iterable<[string, string]>): IaasParams {
    const all = new Map<string, string>();
    for (const [name, value] of pairs) {
      if (all.has(name)) throw badParameter(`Parameter "${name}" is given more than once; give each parameter once (lists are name.1, name.2, …).`);
      all.set(name, value);
    }
    return new IaasParams(all);
  }

  string(name: string): string | undefined {
    return this.all.get(name);
  }

  required(name: string): string {
    const v = this.all.get(name);
    if (v === undefined || v === '') throw badParameter(`Parameter "${name}" is missing; this action needs it.`);
    return v;
  }

  int(name: string, range: { min: number; max: number }): number | undefined {
    const v = this.all.get(name);
    if (v === undefined) return undefined;
    const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < range.min || n > range.max) throw badParameter(`Parameter "${name}" must be a whole number from ${range.min} to ${range.max}; it is "${v}".`);
    return n;
  }

  /** A 0/1 flag, as QingCloud sends booleans. */
  flag(name: string): boolean | undefined {
    const n = this.int(name, { min: 0, max: 1 });
    return n === undefined ? undefined : n === 1;
  }

  /** One of the values QingCloud names, mapped to Cairn's. */
  oneOf<T>(name: string, values: Record<string, T>): T | undefined {
    const v = this.all.get(name);
    if (v === undefined) return undefined;
    if (!Object.hasOwn(values, v)) throw badParameter(`Parameter "${name}" must be one of ${Object.keys(values).join(', ')}; it is "${v}".`);
    return values[v];
  }

  /** `prefix.1` … `prefix.N`, numbered from 1 without gaps; empty when none is given. */
  list(prefix: string): string[] {
    const found = new Map<number, string>();
    const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)$`);
    for (const [name, value] of this.all) {
      const m = pattern.exec(name);
      if (!m) continue;
      if (value === '') throw badParameter(`Parameter "${name}" is empty.`);
      found.set(Number(m[1]), value);
    }
    if (found.size > MAX_LIST) throw badParameter(`At most ${MAX_LIST} ${prefix}.N are taken in one request; ${found.size} were given.`);
    for (let i = 1; i <= found.size; i++)
      if (!found.has(i)) throw badParameter(`${prefix}.N must be numbered 1, 2, … without gaps; ${prefix}.${i} is missing among ${found.size}.`);
    return [...found.keys()].sort((a, b) => a - b).map((i) => found.get(i)!);
  }

  requiredList(prefix: string): string[] {
    const items = this.list(prefix);
    if (items.length === 0) throw badParameter(`Parameter "${prefix}.1" is missing; name at least one.`);
    if (new Set(items).size !== items.length) throw badParameter(`${prefix}.N names the same item twice.`);
    return items;
  }

  /** `offset` and `limit` (1 to 100, 20 if not given), as every Describe* takes them. */
  page(): PageRequest {
    return {
      offset: this.int('offset', { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 0,
      limit: this.int('limit', { min: 1, max: MAX_LIMIT }) ?? DEFAULT_LIMIT,
    };
  }
}
