import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

/** An access key of QingCloud's action API (docs/qingcloud-api.md): the ID is public, the secret signs requests. */
export const AccessKeyStatus = Type.Union([Type.Literal('active'), Type.Literal('disabled')]);
export type AccessKeyStatus = Static<typeof AccessKeyStatus>;

export const AccessKeyView = Type.Object({
  access_key_id: Type.String(),
  name: Type.String(),
  status: AccessKeyStatus,
  created_at: Timestamp,
  last_used_at: Nullable(Timestamp),
});
export type AccessKeyView = Static<typeof AccessKeyView>;

/** An access key as created: the only answer that carries its secret. */
export const NewAccessKeyView = Type.Composite([AccessKeyView, Type.Object({ secret_access_key: Type.String() })]);
export type NewAccessKeyView = Static<typeof NewAccessKeyView>;
