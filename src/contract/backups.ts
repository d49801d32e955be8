import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';
import { BackupType } from './jobs.js';
import { AgentRef, DiskView, ResourceKind } from './resources.js';

/** How the caller holds a chain: its own, or shared with it. */
export const Relation = Type.Union([Type.Literal('owner'), Type.Literal('recipient')]);
export type Relation = Static<typeof Relation>;

export const ChainView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  status: Type.Union([Type.Literal('available'), Type.Literal('deleted')]),
  resource_id: Type.String(),
  resource_name: Nullable(Type.String()),
  resource_kind: ResourceKind,
  total_size: Type.Integer(),
  point_count: Type.Integer(),
  head_point_id: Nullable(Type.String()),
  /** Made by a backup task (retention may trim it) or by hand (never trimmed). */
  origin: Type.Union([Type.Literal('manual'), Type.Literal('automatic')]),
  created_at: Timestamp,
  deleted_at: Nullable(Timestamp),
  purge_after: Nullable(Timestamp),
  owner_id: Type.String(),
  relation: Relation,
  /** Accounts the chain is shared with now (the owner's view; 0 for recipients). */
  share_count: Type.Integer(),
  /** The agent hosting the chain's resource (the owner's view), for "backup now". */
  agent: Nullable(AgentRef),
});
export type ChainView = Static<typeof ChainView>;

export const PointStatus = Type.Union([Type.Literal('creating'), Type.Literal('available'), Type.Literal('failed'), Type.Literal('deleted')]);

export const PointView = Type.Object({
  id: Type.String(),
  chain_id: Type.String(),
  parent_id: Nullable(Type.String()),
  type: BackupType,
  name: Type.String(),
  description: Type.String(),
  status: PointStatus,
  snapshot_at: Timestamp,
  logical_size: Type.Integer(),
  stored_bytes: Type.Integer(),
  is_head: Type.Boolean(),
  created_at: Timestamp,
  deleted_at: Nullable(Timestamp),
  purge_after: Nullable(Timestamp),
  disks: Type.Array(DiskView),
});
export type PointView = Static<typeof PointView>;

/** One point with the manifest of each disk, for a restore. */
export const PointDetailView = Type.Composite([
  Type.Omit(PointView, ['disks']),
  Type.Object({ disks: Type.Array(Type.Composite([DiskView, Type.Object({ manifest_digest: Nullable(Type.String()) })])) }),
]);
export type PointDetailView = Static<typeof PointDetailView>;

/** A chain with its points as a tree (parent links), oldest first. */
export const ChainDetailView = Type.Composite([ChainView, Type.Object({ points: Type.Array(PointView) })]);
export type ChainDetailView = Static<typeof ChainDetailView>;

/** What deleting a point or a chain did, and until when the recycle bin keeps it. */
export const DeletedView = Type.Object({ deleted: Type.Optional(Type.Union([Type.Literal('point'), Type.Literal('chain')])), id: Type.String(), purge_after: Timestamp });
export type DeletedView = Static<typeof DeletedView>;

export const RecycleKind = Type.Union([Type.Literal('chain'), Type.Literal('point')]);

export const RecycleItemView = Type.Object({
  kind: RecycleKind,
  id: Type.String(),
  chain_id: Type.String(),
  name: Type.String(),
  resource_id: Type.String(),
  deleted_at: Timestamp,
  purge_after: Timestamp,
});
export type RecycleItemView = Static<typeof RecycleItemView>;

export const RestoredView = Type.Object({ kind: RecycleKind, id: Type.String() });
export type RestoredView = Static<typeof RestoredView>;

export const UploadDisk = Type.Object({ position: Type.Integer(), name: Type.String(), size: Type.Integer(), manifest_digest: Nullable(Type.String()) });
export type UploadDisk = Static<typeof UploadDisk>;

export const UploadView = Type.Object({
  id: Type.String(),
  job_id: Type.String(),
  resource_id: Type.String(),
  requested_type: BackupType,
  disks: Type.Array(UploadDisk),
  snapshot_at: Timestamp,
  status: Type.Union([Type.Literal('open'), Type.Literal('committed'), Type.Literal('aborted')]),
  expires_at: Timestamp,
});
export type UploadView = Static<typeof UploadView>;

/** Whether an uploaded chunk was new to the store (201) or already there (200). */
export const ChunkStoredView = Type.Object({ stored: Type.Boolean() });
export type ChunkStoredView = Static<typeof ChunkStoredView>;

export const BatchChunkView = Type.Object({ digest: Type.String(), stored: Type.Boolean() });
export type BatchChunkView = Static<typeof BatchChunkView>;

/** The point an upload's commit made. */
export const CommittedPointView = Type.Pick(PointView, ['id', 'chain_id', 'type', 'parent_id', 'logical_size', 'stored_bytes', 'snapshot_at']);
export type CommittedPointView = Static<typeof CommittedPointView>;

export const DamagedChunk = Type.Object({ digest: Type.String(), problem: Type.String(), points: Type.Array(Type.String()) });
export type DamagedChunk = Static<typeof DamagedChunk>;

export const VerifyReport = Type.Object({ chunks_checked: Type.Integer(), damaged: Type.Array(DamagedChunk) });
export type VerifyReport = Static<typeof VerifyReport>;

export const GcReport = Type.Object({
  id: Type.String(),
  started_at: Timestamp,
  finished_at: Timestamp,
  live_manifests: Type.Integer(),
  live_chunks: Type.Integer(),
  chunks_removed: Type.Integer(),
  bytes_removed: Type.Integer(),
  manifests_removed: Type.Integer(),
  orphan_blobs_removed: Type.Integer(),
  /** Temporary files of writes a crash cut short (a folder store's `.tmp-*`), and their bytes. */
  temporary_files_removed: Type.Integer(),
  temporary_bytes_removed: Type.Integer(),
});
export type GcReport = Static<typeof GcReport>;
