import { Type } from '@sinclair/typebox';
import type { Services } from '../../services/index.js';
import { pageOf } from '../../domain/page.js';
import { callerOf } from '../auth.js';
import { answers, Email, Id, Name, NoContent, PageQuery, ResourceId, Strict } from '../schemas.js';
import { BackupType, DeliveryView, Nullable, NotifyEvent, PageOf, PolicyPreview, PolicyView, Repeat, RunView, ScheduleSpec, TaskView } from '../../contract/index.js';
import type { Api } from '../types.js';

const OnePolicy = Type.Object({ policy: PolicyView });
const OneTask = Type.Object({ task: TaskView });
const PolicyParams = Strict({ id: Id('policy') });
const TaskParams = Strict({ id: Id('task') });
// Bounds the services check themselves (time zone, N, URLs) are left to them, for one clear message whoever calls.
const PolicyFields = {
  name: Name,
  repeat: Type.Optional(Repeat),
  schedule: ScheduleSpec,
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  notify_on: Type.Optional(Type.Array(NotifyEvent, { maxItems: 2 })),
  emails: Type.Optional(Type.Array(Email, { maxItems: 10 })),
  webhooks: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), { maxItems: 10 })),
};
const TaskFields = {
  name: Name,
  policy_id: Id('policy'),
  resource_ids: Type.Array(ResourceId, { minItems: 1, maxItems: 50 }),
  backup_type: Type.Optional(BackupType),
  chain_length: Type.Optional(Type.Integer()),
  keep_chains: Type.Optional(Nullable(Type.Integer())),
  enabled: Type.Optional(Type.Boolean()),
};

export function taskRoutes(app: Api, s: Services): void {
  // --- backup policies (备份策略)
  app.post('/api/v1/policies', { schema: { tags: ['tasks'], body: Strict(PolicyFields), response: answers({ 201: OnePolicy }) } }, async (req, reply) =>
    reply.status(201).send({ policy: await s.policies.create(callerOf(req), req.body) }),
  );
  app.post('/api/v1/policies/preview', { schema: { tags: ['tasks'], body: Strict(PolicyFields), response: answers({ 200: PolicyPreview }) } }, async (req) =>
    s.policies.preview(callerOf(req), req.body),
  );
  app.get('/api/v1/policies', { schema: { tags: ['tasks'], querystring: Strict(PageQuery), response: answers({ 200: PageOf(PolicyView) }) } }, async (req) =>
    s.policies.list(callerOf(req), pageOf(req.query)),
  );
  app.get('/api/v1/policies/:id', { schema: { tags: ['tasks'], params: PolicyParams, response: answers({ 200: OnePolicy }) } }, async (req) => ({
    policy: await s.policies.get(callerOf(req), req.params.id),
  }));
  app.patch(
    '/api/v1/policies/:id',
    { schema: { tags: ['tasks'], params: PolicyParams, body: Type.Partial(Strict(PolicyFields), { additionalProperties: false }), response: answers({ 200: OnePolicy }) } },
    async (req) => ({ policy: await s.policies.update(callerOf(req), req.params.id, req.body) }),
  );
  app.get('/api/v1/policies/:id/deliveries', { schema: { tags: ['tasks'], params: PolicyParams, querystring: Strict(PageQuery), response: answers({ 200: PageOf(DeliveryView) }) } }, async (req) =>
    s.notifier.deliveries(callerOf(req), req.params.id, pageOf(req.query)),
  );
  app.delete('/api/v1/policies/:id', { schema: { tags: ['tasks'], params: PolicyParams, response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.policies.delete(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });

  // --- backup tasks (备份任务)
  app.post('/api/v1/tasks', { schema: { tags: ['tasks'], body: Strict(TaskFields), response: answers({ 201: OneTask }) } }, async (req, reply) =>
    reply.status(201).send({ task: await s.tasks.create(callerOf(req), req.body) }),
  );
  app.get('/api/v1/tasks', { schema: { tags: ['tasks'], querystring: Strict(PageQuery), response: answers({ 200: PageOf(TaskView) }) } }, async (req) =>
    s.tasks.list(callerOf(req), pageOf(req.query)),
  );
  app.get('/api/v1/tasks/:id', { schema: { tags: ['tasks'], params: TaskParams, response: answers({ 200: OneTask }) } }, async (req) => ({
    task: await s.tasks.get(callerOf(req), req.params.id),
  }));
  app.patch(
    '/api/v1/tasks/:id',
    { schema: { tags: ['tasks'], params: TaskParams, body: Type.Partial(Strict(TaskFields), { additionalProperties: false }), response: answers({ 200: OneTask }) } },
    async (req) => ({ task: await s.tasks.update(callerOf(req), req.params.id, req.body) }),
  );
  app.delete('/api/v1/tasks/:id', { schema: { tags: ['tasks'], params: TaskParams, response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.tasks.delete(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });
  app.post('/api/v1/tasks/:id/runs', { schema: { tags: ['tasks'], params: TaskParams, response: answers({ 201: Type.Object({ run: RunView }) }) } }, async (req, reply) =>
    reply.status(201).send({ run: await s.tasks.runNow(callerOf(req), req.params.id) }),
  );
  app.get('/api/v1/tasks/:id/runs', { schema: { tags: ['tasks'], params: TaskParams, querystring: Strict(PageQuery), response: answers({ 200: PageOf(RunView) }) } }, async (req) =>
    s.tasks.runs(callerOf(req), req.params.id, pageOf(req.query)),
  );
}
