import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

export const JobStatus = Type.Union([Type.Literal('pending'), Type.Literal('working'), Type.Literal('successful'), Type.Literal('failed')]);
export type JobStatus = Static<typeof JobStatus>;

export const BackupType = Type.Union([Type.Literal('full'), Type.Literal('incremental')]);
export type BackupType = Static<typeof BackupType>;

export const JobView = Type.Object({
  id: Type.String(),
  action: Type.String(),
  status: JobStatus,
  resource_id: Nullable(Type.String()),
  target_id: Nullable(Type.String()),
  runner: Type.String(),
  progress: Type.Number(),
  bytes_done: Type.Integer(),
  bytes_total: Type.Integer(),
  error: Nullable(Type.String()),
  /** What the job made (its runner's report), any JSON. */
  result: Type.Unknown(),
  created_at: Timestamp,
  started_at: Nullable(Timestamp),
  finished_at: Nullable(Timestamp),
  updated_at: Timestamp,
});
export type JobView = Static<typeof JobView>;

/** A job as its agent claims it: what to do (a backup's type and name, a rollback's point). */
export const AgentJobView = Type.Composite([
  JobView,
  Type.Object({ params: Type.Object({ type: Type.Optional(BackupType), name: Type.Optional(Type.String()), point_id: Type.Optional(Type.String()) }) }),
]);
export type AgentJobView = Static<typeof AgentJobView>;
