import { Type, type Static } from '@sinclair/typebox';
import { AccountRef, Nullable, PageOf, Person, Timestamp } from './common.js';
import { ChainView, PointView } from './backups.js';

export const ShareView = Type.Object({
  chain_id: Type.String(),
  recipient: AccountRef,
  note: Type.String(),
  shared_at: Timestamp,
  expires_at: Nullable(Timestamp),
});
export type ShareView = Static<typeof ShareView>;

/** A chain as its recipient sees it (共享备份). */
export const SharedChainView = Type.Composite([
  ChainView,
  Type.Object({
    owner: AccountRef,
    shared_at: Timestamp,
    expires_at: Nullable(Timestamp),
    note: Type.String(),
  }),
]);
export type SharedChainView = Static<typeof SharedChainView>;

export const SharedChainDetailView = Type.Composite([SharedChainView, Type.Object({ points: Type.Array(PointView) })]);
export type SharedChainDetailView = Static<typeof SharedChainDetailView>;

export const ImageView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  size: Type.Integer(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('available'), Type.Literal('deleted')]),
  created_at: Timestamp,
  source: Type.Object({
    point_id: Type.String(),
    chain_id: Type.String(),
    resource_id: Type.String(),
    disk: Type.String(),
    /** Set when the image was made from a chain shared with the caller. */
    owner: Nullable(Person),
  }),
});
export type ImageView = Static<typeof ImageView>;

export const EventType = Type.Union([
  Type.Literal('share.created'),
  Type.Literal('share.cancelled'),
  Type.Literal('share.expired'),
  Type.Literal('share.removed'),
  Type.Literal('image.created'),
  Type.Literal('chain.deleted'),
  Type.Literal('chain.restored'),
  Type.Literal('chain.purged'),
]);
export type EventType = Static<typeof EventType>;

export const EventView = Type.Object({
  id: Type.String(),
  type: EventType,
  chain_id: Nullable(Type.String()),
  owner: Person,
  recipient: Nullable(Person),
  actor: Nullable(Person),
  /** What the event is about (names, counts), by its type. */
  data: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
});
export type EventView = Static<typeof EventView>;

export const NotificationView = Type.Object({ id: Type.String(), read: Type.Boolean(), created_at: Timestamp, event: EventView });
export type NotificationView = Static<typeof NotificationView>;

export const NotificationPage = Type.Composite([PageOf(NotificationView), Type.Object({ unread_count: Type.Integer({ minimum: 0 }) })]);
export type NotificationPage = Static<typeof NotificationPage>;

/** "Mark all read": how many notifications were unread and now are read. */
export const NotificationsRead = Type.Object({ read: Type.Integer({ minimum: 0 }) });
export type NotificationsRead = Static<typeof NotificationsRead>;
