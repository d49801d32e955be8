import { CairnError } from '../../domain/errors.js';

/**
 * QingCloud's error codes, and the one mapping of Cairn's errors onto them.
 * The actions throw CairnErrors from the services as the REST routes do; only
 * here do they become `{ ret_code, message }`.
 */
export const RET = {
  badParameter: 1100,
  authFailed: 1200,
  expired: 1300,
  denied: 1400,
  notFound: 2100,
  /** The resource's state does not allow the action (deleted, still being made, its agent offline). */
  badState: 2400,
  quota: 2500,
  internal: 5000,
  busy: 5100,
} as const;

export class IaasError extends Error {
  constructor(
    readonly retCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'IaasError';
  }
}

export const badParameter = (message: string) => new IaasError(RET.badParameter, message);

/** Conflicts that are limits reached rather than states: QingCloud's "quota exceeded". */
const QUOTA_CODES = new Set(['too_many_recipients', 'too_many_shares', 'too_many_access_keys']);

export function retCodeOf(err: unknown): { ret_code: number; message: string } {
  if (err instanceof IaasError) return { ret_code: err.retCode, message: err.message };
  if (err instanceof CairnError) {
    const s = err.status;
    const ret_code =
      s === 401 ? RET.authFailed
      : s === 403 ? RET.denied
      : s === 404 ? RET.notFound
      : s === 409 ? (QUOTA_CODES.has(err.code) ? RET.quota : RET.badState)
      : s === 429 || s === 503 ? RET.busy
      : s >= 400 && s < 500 ? RET.badParameter
      : RET.internal;
    return { ret_code, message: ret_code === RET.internal ? 'The server failed on this request; the error is in its log.' : err.message };
  }
  return { ret_code: RET.internal, message: 'The server failed on this request; the error is in its log.' };
}
