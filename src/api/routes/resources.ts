import { Type } from '@sinclair/typebox';
import type { Services } from '../../services/index.js';
import { pageOf } from '../../domain/page.js';
import { MAX_DISK_SIZE } from '../../domain/rules.js';
import { callerOf } from '../auth.js';
import { answers, Name, NoContent, PageQuery, ResourceId, Strict } from '../schemas.js';
import { PageOf, ResourceKind, ResourceView } from '../../contract/index.js';
import type { Api } from '../types.js';

const One = Type.Object({ resource: ResourceView });

export function resourceRoutes(app: Api, s: Services): void {
  app.post(
    '/api/v1/resources',
    {
      schema: {
        tags: ['resources'],
        body: Strict({
          kind: ResourceKind,
          name: Name,
          disks: Type.Array(Strict({ name: Name, size: Type.Integer({ minimum: 1, maximum: MAX_DISK_SIZE }) }), { minItems: 1, maxItems: 16 }),
        }),
        response: answers({ 201: One }),
      },
    },
    async (req, reply) => reply.status(201).send({ resource: await s.resources.create(callerOf(req), req.body) }),
  );
  app.get(
    '/api/v1/resources',
    { schema: { tags: ['resources'], querystring: Strict({ ...PageQuery, kind: Type.Optional(ResourceKind), search: Type.Optional(Type.String({ maxLength: 128 })) }), response: answers({ 200: PageOf(ResourceView) }) } },
    async (req) => s.resources.list(callerOf(req), pageOf(req.query), req.query),
  );
  app.get('/api/v1/resources/:id', { config: { agentWork: true }, schema: { tags: ['resources'], params: Strict({ id: ResourceId }), response: answers({ 200: One }) } }, async (req) => ({
    resource: await s.resources.get(callerOf(req), req.params.id),
  }));
  app.patch(
    '/api/v1/resources/:id',
    { schema: { tags: ['resources'], params: Strict({ id: ResourceId }), body: Strict({ name: Name }), response: answers({ 200: One }) } },
    async (req) => ({ resource: await s.resources.rename(callerOf(req), req.params.id, req.body.name) }),
  );
  app.delete('/api/v1/resources/:id', { schema: { tags: ['resources'], params: Strict({ id: ResourceId }), response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.resources.delete(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });
}
