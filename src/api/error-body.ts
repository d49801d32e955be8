import type { FastifyError } from 'fastify';
import { CairnError } from '../domain/errors.js';

/** The status, JSON body and headers (Retry-After, for a 429 that knows it) of the answer to a failed request. */
export function errorBody(err: unknown): { status: number; body: { error: Record<string, unknown> }; headers?: Record<string, string> } {
  if (err instanceof CairnError) {
    return {
      status: err.status,
      ...(err.retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(err.retryAfterSeconds) } } : {}),
      body: { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}), ...(err.details ? { details: err.details } : {}) } },
    };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
    const path = (first?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const extra = first?.params as { additionalProperty?: string; missingProperty?: string } | undefined;
    const named = extra?.additionalProperty ?? extra?.missingProperty;
    const field = named ? [path, named].filter(Boolean).join('.') : path;
    const message = extra?.additionalProperty
      ? `Unknown field "${field}" in the ${fe.validationContext}.`
      : `Invalid ${fe.validationContext}${field ? ` field "${field}"` : ''}: ${first?.message ?? 'bad value'}.`;
    return { status: 400, body: { error: { code: 'bad_request', message, ...(field ? { field } : {}) } } };
  }
  const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
  const code = status === 413 ? 'too_large' : status === 414 ? 'uri_too_long' : status === 415 ? 'unsupported_media_type' : status === 429 ? 'too_many_requests' : status === 404 ? 'not_found' : status === 500 ? 'internal' : 'bad_request';
  const message =
    status === 500
      ? 'The server failed on this request; the error is in its log.'
      : status === 414
        ? 'A part of the request path is longer than any ID or name can be; check the URL.'
        : fe.message;
  return { status, body: { error: { code, message } } };
}
