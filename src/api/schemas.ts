import { Type, type TSchema } from '@sinclair/typebox';
import { badRequest } from '../domain/errors.js';
import { idPattern, type IdKind } from '../domain/ids.js';
import { ChunkBatchError, DIGEST_LIST_PATTERN, parseDigestList } from '../wire/chunk-batch.js';
import { MAX_LIMIT } from '../domain/page.js';
import { ErrorBody, Name } from '../contract/index.js';

/** Request schemas reject fields they do not name. */
export const Strict = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });

export const Id = (kind: IdKind) => Type.String({ pattern: idPattern(kind) });
/** A volume's or an instance's ID. */
export const ResourceId = Type.String({ pattern: '^(vol|i)-[a-z0-9]{8}$' });
/** A chunk's digest (SHA-256, hex). */
export const Digest = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const PageQuery = {
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT })),
};

/** The paging of the lists that sort by key: by offset, or after a `next_cursor` they handed out. */
export const CursorPageQuery = {
  ...PageQuery,
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
};

/** A binary answer (manifests, chunks, image exports), as OpenAPI describes one. */
export const Binary = { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };

/** The empty body of a 204. */
export const NoContent = Type.Null({ description: 'No content' });

/**
 * A chunk stream's answers: 101 where the request asks to upgrade (the server's
 * upgrade handler takes the connection), else 426 naming the plain requests to use.
 */
export const UpgradeAnswers = { 101: Type.Null({ description: 'Switching to the chunk stream' }), 426: ErrorBody };

/**
 * A route's answers: the ones it names, and the error body for every 4xx and
 * 5xx (the error handler's, the authentication's and the 426 of a chunk stream).
 */
export const answers = <T extends Record<number, TSchema | typeof Binary>>(ok: T) => ({ ...ok, '4xx': ErrorBody, '5xx': ErrorBody });

/** The contract's one name schema, re-exported beside the other request schemas. */
export { Name };
export const Description = Type.String({ maxLength: 1024 });
export const Email = Type.String({ minLength: 3, maxLength: 254 });
export const Password = Type.String({ minLength: 1, maxLength: 1024 });

/**
 * A disk moves as thousands of chunk requests (and a `missing` question per
 * batch of them): logging each would cost more than serving it and bury the
 * rest of the log. Failures are still logged.
 */
export const CHUNK_LOG_LEVEL = 'warn';

/** The query of a batch read of chunks (`?digests=<digest>,…`, chunk-batch.ts). */
export const DigestList = Strict({ digests: Type.String({ pattern: DIGEST_LIST_PATTERN }) });

/** What `parse` makes of a batch request's `field`; what it refuses (ChunkBatchError) is a 400 naming that field. */
export function parseBatch<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ChunkBatchError) throw badRequest(err.message, field);
    throw err;
  }
}

/** The digests a batch read asks for; a repeated one is a 400. */
export function digestList(query: string): string[] {
  return parseBatch('digests', () => parseDigestList(query));
}
