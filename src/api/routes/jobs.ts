import { Type } from '@sinclair/typebox';
import type { Services } from '../../services/index.js';
import { pageOf } from '../../domain/page.js';
import { callerOf } from '../auth.js';
import { answers, Id, PageQuery, Strict } from '../schemas.js';
import { JobStatus, JobView, PageOf } from '../../contract/index.js';
import type { Api } from '../types.js';

export function jobRoutes(app: Api, s: Services): void {
  app.get(
    '/api/v1/jobs',
    { schema: { tags: ['jobs'], querystring: Strict({ ...PageQuery, status: Type.Optional(JobStatus), resource_id: Type.Optional(Type.String({ maxLength: 32 })) }), response: answers({ 200: PageOf(JobView) }) } },
    async (req) =>
      s.jobs.list(callerOf(req), pageOf(req.query), {
        status: req.query.status,
        resourceId: req.query.resource_id,
      }),
  );
  app.get('/api/v1/jobs/:id', { schema: { tags: ['jobs'], params: Strict({ id: Id('job') }), response: answers({ 200: Type.Object({ job: JobView }) }) } }, async (req) => ({
    job: await s.jobs.get(callerOf(req), req.params.id),
  }));
}
