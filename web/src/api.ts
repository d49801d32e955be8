// The console talks only to the public HTTP API, with the session cookie that
// POST /sessions sets; every write carries the session's CSRF token.

// The answers' types come from the server's contract, type-only: vite bundles none of it.
export type {
  Page,
  AccountView as Account,
  AccountRef,
  AccountLookupView,
  TokenView as ApiToken,
  NewTokenView as NewApiToken,
  AccessKeyView as AccessKey,
  NewAccessKeyView as NewAccessKey,
  DiskView as Disk,
  AgentRef,
  AgentView as Agent,
  TokenScope,
  ResourceView as Resource,
  JobStatus,
  JobView as Job,
  ChainView as Chain,
  PointView as Point,
  ChainDetailView as ChainDetail,
  ShareView as Share,
  SharedChainView as SharedChain,
  SharedChainDetailView as SharedChainDetail,
  ImageView as Image,
  Person,
  EventView as CairnEvent,
  NotificationView as Notification,
  NotificationPage,
  NotificationsRead,
  SessionView,
  RecycleItemView as RecycleItem,
  PolicyView as BackupPolicy,
  PolicyPreview,
  TaskView as BackupTask,
  RunView as BackupRun,
  ErrorBody,
  ErrorDetail,
  FileEntryView as FileEntry,
  FileListingView as FileListing,
} from '../../src/contract/index.js';
import type { ErrorBody, ErrorDetail } from '../../src/contract/index.js';

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
    const e = (json as Partial<ErrorBody> | null)?.error;
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
