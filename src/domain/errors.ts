/**
 * Errors that carry their meaning to the edge: the API maps `status` and `code`
 * to the response, the CLI prints `message` and exits non-zero.
 */
export class CairnError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** Per-item problems of a request about several things (e.g. each recipient of a share). */
    readonly details?: { item: string; code: string; message: string }[],
    /** For a 429: whole seconds until a retry can succeed, sent as Retry-After. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'CairnError';
  }
}

export const badRequest = (message: string, field?: string) => new CairnError(400, 'bad_request', message, field);
export const unauthorized = (message = 'Sign in first: send a session cookie or an "Authorization: Bearer <token>" header.') =>
  new CairnError(401, 'unauthorized', message);
export const forbidden = (message: string) => new CairnError(403, 'forbidden', message);
/** Also used for things that exist but belong to someone else: never reveal they exist. */
export const notFound = (what: string, id: string) => new CairnError(404, 'not_found', `${what} ${id} was not found.`);
export const conflict = (message: string, code = 'conflict') => new CairnError(409, code, message);
export const tooLarge = (message: string) => new CairnError(413, 'too_large', message);
/** `message` says how long to wait, in words; `retryAfterSeconds` says it to programs (Retry-After). */
export const tooMany = (message: string, retryAfterSeconds: number) => new CairnError(429, 'too_many_requests', message, undefined, undefined, retryAfterSeconds);
export const unavailable = (message: string) => new CairnError(503, 'unavailable', message);
