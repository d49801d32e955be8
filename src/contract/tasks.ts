import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

const Time = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, in the policy\'s time zone' });
const Times = Type.Array(Time, { minItems: 1, maxItems: 24 });

/** When a policy fires (src/domain/schedule.ts says how each kind is read). */
export const ScheduleSpec = Type.Union([
  Type.Object({ kind: Type.Literal('daily'), times: Times }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('weekly'), days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7, description: '1 = Monday … 7 = Sunday' }), times: Times },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('monthly'), days: Type.Array(Type.Integer({ minimum: 1, maximum: 31 }), { minItems: 1, maxItems: 31, description: 'a day past the month\'s end runs on its last day' }), times: Times },
    { additionalProperties: false },
  ),
  // Bounds are checked by the service, so that N = 0 gets the same clear message from every client.
  Type.Object({ kind: Type.Literal('hourly'), every_hours: Type.Integer() }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('cron'), expression: Type.String({ minLength: 1, maxLength: 200, description: 'five fields, or six with seconds first' }) }, { additionalProperties: false }),
]);
export type ScheduleSpec = Static<typeof ScheduleSpec>;

export const Repeat = Type.Union([Type.Literal('repeating'), Type.Literal('once')]);
export const NotifyEvent = Type.Union([Type.Literal('success'), Type.Literal('failure')]);
export type NotifyEvent = Static<typeof NotifyEvent>;

export const PolicyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  repeat: Repeat,
  schedule: ScheduleSpec,
  timezone: Type.String(),
  /** The schedule in words, e.g. "每天 02:00 (Asia/Shanghai)". */
  description: Type.Object({ zh: Type.String(), en: Type.String() }),
  /** The next three runs from now (fewer for a policy run once). */
  next_runs: Type.Array(Timestamp),
  notify_on: Type.Array(NotifyEvent),
  emails: Type.Array(Type.String()),
  webhooks: Type.Array(Type.String()),
  /** Key of the webhooks' HMAC-SHA256 signature (docs/tasks.md). */
  webhook_secret: Type.String(),
  task_count: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type PolicyView = Static<typeof PolicyView>;

/** What a policy being written would do: the console shows it before saving. */
export const PolicyPreview = Type.Object({ description: Type.Object({ zh: Type.String(), en: Type.String() }), next_runs: Type.Array(Timestamp) });
export type PolicyPreview = Static<typeof PolicyPreview>;

export const RunStatus = Type.Union([Type.Literal('running'), Type.Literal('successful'), Type.Literal('failed'), Type.Literal('partial')]);
export type RunStatus = Static<typeof RunStatus>;

export const TaskView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  enabled: Type.Boolean(),
  resources: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), kind: Type.String() })),
  backup_type: Type.Union([Type.Literal('full'), Type.Literal('incremental')]),
  chain_length: Type.Integer(),
  /** Automatic chains kept per resource; null keeps them forever (永久保留). */
  keep_chains: Nullable(Type.Integer()),
  policy: Type.Object({ id: Type.String(), name: Type.String(), description: Type.Object({ zh: Type.String(), en: Type.String() }) }),
  run_count: Type.Integer(),
  last_run_at: Nullable(Timestamp),
  last_result: Nullable(RunStatus),
  next_run_at: Nullable(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type TaskView = Static<typeof TaskView>;

export const RunItemView = Type.Object({
  resource_id: Type.String(),
  job_id: Nullable(Type.String()),
  status: Type.Union([Type.Literal('running'), Type.Literal('successful'), Type.Literal('failed'), Type.Literal('skipped')]),
  error: Nullable(Type.String()),
});
export type RunItemView = Static<typeof RunItemView>;

export const RunView = Type.Object({
  id: Type.String(),
  task_id: Type.String(),
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual')]),
  scheduled_for: Timestamp,
  status: RunStatus,
  items: Type.Array(RunItemView),
  created_at: Timestamp,
  finished_at: Nullable(Timestamp),
});
export type RunView = Static<typeof RunView>;

/** One mail or webhook call about a run, with what came of it. */
export const DeliveryView = Type.Object({
  id: Type.String(),
  run_id: Type.String(),
  channel: Type.Union([Type.Literal('webhook'), Type.Literal('email')]),
  target: Type.String(),
  event: NotifyEvent,
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Timestamp),
  response_status: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  created_at: Timestamp,
  delivered_at: Nullable(Timestamp),
});
export type DeliveryView = Static<typeof DeliveryView>;
