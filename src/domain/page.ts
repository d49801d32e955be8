export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export interface PageRequest {
  offset: number;
  limit: number;
}

export interface Page<T> {
  total_count: number;
  items: T[];
}

export function pageOf(q: { offset?: number; limit?: number }): PageRequest {
  return { offset: q.offset ?? 0, limit: Math.min(q.limit ?? DEFAULT_LIMIT, MAX_LIMIT) };
}
