import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

export const AccountStatus = Type.Union([Type.Literal('active'), Type.Literal('disabled')]);
/** The languages of the console and of mails. */
export const Language = Type.Union([Type.Literal('zh'), Type.Literal('en')]);
export type Language = Static<typeof Language>;
/** An IANA time zone name, checked by the server (Asia/Shanghai, Europe/Berlin, UTC). */
export const TimeZone = Type.String({ minLength: 1, maxLength: 64, description: 'An IANA time zone, e.g. Asia/Shanghai' });
export type AccountStatus = Static<typeof AccountStatus>;

export const AccountView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  parent_id: Nullable(Type.String()),
  is_admin: Type.Boolean(),
  status: AccountStatus,
  created_at: Timestamp,
  /** What its mails are written in. */
  language: Language,
  /** Its backup policies' default time zone. */
  timezone: TimeZone,
});
export type AccountView = Static<typeof AccountView>;

/** What a token may do: `full`, all its account may; `agent`, only what `cairn agent` needs (register, poll, back up and roll back its resources). */
export const TokenScope = Type.Union([Type.Literal('full'), Type.Literal('agent')]);
export type TokenScope = Static<typeof TokenScope>;

export const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scope: TokenScope,
  created_at: Timestamp,
  last_used_at: Nullable(Timestamp),
  revoked_at: Nullable(Timestamp),
});
export type TokenView = Static<typeof TokenView>;

/** A token as created: the only answer that carries its secret. */
export const NewTokenView = Type.Composite([TokenView, Type.Object({ token: Type.String() })]);
export type NewTokenView = Static<typeof NewTokenView>;

/**
 * An account as a lookup finds it (the share dialog naming a recipient): its
 * email only when the caller typed it or already knows it (a share between them,
 * or its own sub-account); null when the caller typed an ID of an account it has no dealings with.
 */
export const AccountLookupView = Type.Object({ id: Type.String(), email: Nullable(Type.String()) });
export type AccountLookupView = Static<typeof AccountLookupView>;

/** The answer to signing in, and to GET /account for a session (with its CSRF token). */
export const SessionView = Type.Object({ account: AccountView, csrf_token: Type.Optional(Type.String()) });
export type SessionView = Static<typeof SessionView>;
