// The console talks only to the public HTTP API, with the session cookie that
// POST /sessions sets; every write carries the session's CSRF token.

export interface Page<T> {
  total_count: number;
  items: T[];
}

export interface Account {
  id: string;
  email: string;
  parent_id: string | null;
  is_admin: boolean;
  status: 'active' | 'disabled';
  created_at: string;
}

export interface ApiToken {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  token?: string;
}

export interface Disk {
  name: string;
  size: number;
  role: 'system' | 'data';
}

export interface AgentRef {
  id: string;
  name: string;
  online: boolean;
}

export interface Resource {
  id: string;
  kind: 'volume' | 'instance';
  name: string;
  disks: Disk[];
  agent_id: string | null;
  agent: AgentRef | null;
  created_at: string;
}

export type JobStatus = 'pending' | 'working' | 'successful' | 'failed';

export interface Job {
  id: string;
  action: string;
  status: JobStatus;
  resource_id: string | null;
  target_id: string | null;
  runner: string;
  progress: number;
  bytes_done: number;
  bytes_total: number;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface Chain {
  id: string;
  name: string;
  description: string;
  status: 'available' | 'deleted';
  resource_id: string;
  resource_name: string | null;
  resource_kind: 'volume' | 'instance';
  total_size: number;
  point_count: number;
  head_point_id: string | null;
  created_at: string;
  deleted_at: string | null;
  purge_after: string | null;
  owner_id: string;
  relation: 'owner' | 'recipient';
  share_count: number;
  /** The resource's agent, if the server includes it (else the console looks it up in /resources). */
  agent?: AgentRef | null;
}

export interface Point {
  id: string;
  chain_id: string;
  parent_id: string | null;
  type: 'full' | 'incremental';
  name: string;
  description: string;
  status: 'creating' | 'available' | 'failed' | 'deleted';
  snapshot_at: string;
  logical_size: number;
  stored_bytes: number;
  is_head: boolean;
  created_at: string;
  deleted_at: string | null;
  purge_after: string | null;
  disks: Disk[];
}

export type ChainDetail = Chain & { points: Point[] };

export interface Share {
  chain_id: string;
  recipient: { id: string; email: string };
  note: string;
  shared_at: string;
  expires_at: string | null;
}

export interface SharedChain extends Chain {
  owner: { id: string; email: string };
  shared_at: string;
  expires_at: string | null;
  note: string;
}

export type SharedChainDetail = SharedChain & { points: Point[] };

export interface Image {
  id: string;
  name: string;
  description: string;
  size: number;
  status: 'pending' | 'available' | 'deleted';
  created_at: string;
  source: { point_id: string; chain_id: string; resource_id: string; disk: string; owner: { id: string; email: string | null } | null };
}

export interface Person {
  id: string;
  email: string | null;
}

export interface CairnEvent {
  id: string;
  type: string;
  chain_id: string | null;
  owner: Person;
  recipient: Person | null;
  actor: Person | null;
  data: Record<string, unknown>;
  created_at: string;
}

export interface Notification {
  id: string;
  read: boolean;
  created_at: string;
  event: CairnEvent;
}

export interface RecycleItem {
  kind: 'chain' | 'point';
  id: string;
  chain_id: string;
  name: string;
  resource_id: string;
  deleted_at: string;
  purge_after: string;
}

export interface ErrorDetail {
  item: string;
  code: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }
}

const CSRF_KEY = 'cairn.csrf';

/**
 * The CSRF token is kept for the tab's life only (sessionStorage: not shared with
 * other tabs, gone with the browser). A tab without it gets it back from
 * GET /account, which returns it to a session-cookie caller; where a server does
 * not, the console asks to sign in again.
 */
export const csrf = {
  get: (): string | null => sessionStorage.getItem(CSRF_KEY),
  set: (token: string | null): void => {
    if (token) sessionStorage.setItem(CSRF_KEY, token);
    else sessionStorage.removeItem(CSRF_KEY);
  },
};

let onUnauthorized: (() => void) | null = null;
/** The session layer learns here that the server no longer knows the session. */
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function apiUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') params.append(k, String(v));
  const qs = params.toString();
  return `/api/v1${path}${qs ? `?${qs}` : ''}`;
}

export async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = csrf.get();
  if (method !== 'GET' && method !== 'HEAD' && token) headers['x-csrf-token'] = token;
  let res: Response;
  try {
    res = await fetch(apiUrl(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; field?: string; details?: ErrorDetail[] } } | null)?.error;
    const err = new ApiError(res.status, e?.code ?? 'http_' + res.status, e?.message ?? (text.slice(0, 200) || res.statusText), e?.field, e?.details);
    // A failed sign-in is a 401 too, but it is the form's to show, not a lost session.
    if (res.status === 401 && path !== '/sessions') onUnauthorized?.();
    throw err;
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, undefined, query),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};
