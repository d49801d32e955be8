import { Type, type TSchema } from '@sinclair/typebox';
import { idPattern, type IdKind } from '../domain/ids.js';
import { MAX_LIMIT } from '../domain/page.js';

/** Request schemas reject fields they do not name. */
export const Strict = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });

export const Id = (kind: IdKind) => Type.String({ pattern: idPattern(kind) });

export const PageQuery = {
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT })),
};

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) }),
});

export const Name = Type.String({ minLength: 1, maxLength: 128 });
export const Description = Type.String({ maxLength: 1024 });
export const Email = Type.String({ minLength: 3, maxLength: 254 });
export const Password = Type.String({ minLength: 1, maxLength: 1024 });

/**
 * A disk moves as thousands of chunk requests: logging each would cost more than
 * serving it and bury the rest of the log. Failures are still logged.
 */
export const CHUNK_LOG_LEVEL = 'warn';
