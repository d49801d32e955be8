import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

export const ResourceKind = Type.Union([Type.Literal('volume'), Type.Literal('instance')]);
export type ResourceKind = Static<typeof ResourceKind>;

export const DiskView = Type.Object({ name: Type.String(), size: Type.Integer(), role: Type.Union([Type.Literal('system'), Type.Literal('data')]) });
export type DiskView = Static<typeof DiskView>;

/** The agent hosting a resource, as its resource and chains name it. */
export const AgentRef = Type.Object({ id: Type.String(), name: Type.String(), online: Type.Boolean() });
export type AgentRef = Static<typeof AgentRef>;

export const ResourceView = Type.Object({
  id: Type.String(),
  kind: ResourceKind,
  name: Type.String(),
  disks: Type.Array(DiskView),
  agent_id: Nullable(Type.String()),
  agent: Nullable(AgentRef),
  created_at: Timestamp,
});
export type ResourceView = Static<typeof ResourceView>;

/** A volume made from a backup point's disk. */
export const ResourceFromPointView = Type.Composite([ResourceView, Type.Object({ source: Type.Object({ point_id: Type.String(), disk: Type.String() }) })]);
export type ResourceFromPointView = Static<typeof ResourceFromPointView>;

export const AgentView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  online: Type.Boolean(),
  last_seen_at: Nullable(Timestamp),
  /** The Cairn version the agent runs, as it said when it registered; null for agents older than 0016. */
  version: Nullable(Type.String()),
  /** The API token it registered with: revoking it stops the agent. */
  token_id: Nullable(Type.String()),
  resources: Type.Array(Type.String()),
  created_at: Timestamp,
});
export type AgentView = Static<typeof AgentView>;
