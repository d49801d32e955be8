import { Type } from '@sinclair/typebox';
import type { Services } from '../../services/index.js';
import { pageOf } from '../../domain/page.js';
import { callerOf } from '../auth.js';
import { Id, PageQuery, Strict } from '../schemas.js';
import type { Api } from '../types.js';

const Status = Type.Union(['pending', 'working', 'successful', 'failed'].map((v) => Type.Literal(v)));

export function jobRoutes(app: Api, s: Services): void {
  app.get(
    '/api/v1/jobs',
    { schema: { tags: ['jobs'], querystring: Strict({ ...PageQuery, status: Type.Optional(Status), resource_id: Type.Optional(Type.String({ maxLength: 32 })) }) } },
    async (req) =>
      s.jobs.list(callerOf(req), pageOf(req.query), {
        status: req.query.status as 'pending' | undefined,
        resourceId: req.query.resource_id,
      }),
  );
  app.get('/api/v1/jobs/:id', { schema: { tags: ['jobs'], params: Strict({ id: Id('job') }) } }, async (req) => ({
    job: await s.jobs.get(callerOf(req), req.params.id),
  }));
}
