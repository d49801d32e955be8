import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { PRINTABLE_PATTERN } from '../domain/rules.js';

/** A value the API answers with, or null (a JSON null, never an absent field). */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A time, as the ISO 8601 text the server stores. */
export const Timestamp = Type.String({ format: 'date-time' });

/**
 * One page of a list: `items` from `offset` (or after `cursor`), and how many there are in all.
 * Lists that take a cursor also give `next_cursor`, where the next page starts (null on the last).
 */
export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object({ total_count: Type.Integer({ minimum: 0 }), items: Type.Array(item), next_cursor: Type.Optional(Nullable(Type.String())) });
export type { Page } from '../domain/page.js';

/** An item of a bulk request that failed, named in an error's `details`. */
export const ErrorDetail = Type.Object({ item: Type.String(), code: Type.String(), message: Type.String() });
export type ErrorDetail = Static<typeof ErrorDetail>;

/** Every 4xx and 5xx answer: what went wrong (`code`, `message`) and, where one is to blame, the request field. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      field: Type.Optional(Type.String()),
      details: Type.Optional(Type.Array(ErrorDetail)),
    }),
  },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Another account, as lookups and shares name it. */
export const AccountRef = Type.Object({ id: Type.String(), email: Type.String() });
export type AccountRef = Static<typeof AccountRef>;

/** An account as events and images name it (its email is null once the account is gone). */
export const Person = Type.Object({ id: Type.String(), email: Nullable(Type.String()) });
export type Person = Static<typeof Person>;

export const HealthView = Type.Object({ status: Type.Literal('ok'), version: Type.String(), engine: Type.String() });
export type HealthView = Static<typeof HealthView>;

/**
 * Every name a request gives (of a chain, a resource, a disk, a task, a token…):
 * 1 to 128 characters, none of them a control character.
 */
export const Name = Type.String({ minLength: 1, maxLength: 128, pattern: PRINTABLE_PATTERN });
/** A name that may be emptied (editing a point's name). */
export const OptionalName = Type.String({ maxLength: 128, pattern: PRINTABLE_PATTERN });
