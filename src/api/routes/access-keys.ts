import { Type } from '@sinclair/typebox';
import type { Services } from '../../services/index.js';
import { ACCESS_KEY_ID_PATTERN } from '../../services/access-keys.js';
import { callerOf } from '../auth.js';
import { answers, Name, NoContent, PageQuery, Strict } from '../schemas.js';
import { AccessKeyStatus, AccessKeyView, NewAccessKeyView, PageOf } from '../../contract/index.js';
import { pageOf } from '../../domain/page.js';
import type { Api } from '../types.js';

const KeyParams = Strict({ id: Type.String({ pattern: ACCESS_KEY_ID_PATTERN }) });
const OneKey = Type.Object({ access_key: AccessKeyView });

/** API keys (API 密钥) for QingCloud's action API at /iaas/ (docs/qingcloud-api.md). */
export function accessKeyRoutes(app: Api, s: Services): void {
  app.post('/api/v1/access-keys', { schema: { tags: ['access keys'], body: Strict({ name: Type.Optional(Name) }), response: answers({ 201: Type.Object({ access_key: NewAccessKeyView }) }) } }, async (req, reply) =>
    reply.status(201).send({ access_key: await s.accessKeys.create(callerOf(req), req.body.name) }),
  );
  app.get('/api/v1/access-keys', { schema: { tags: ['access keys'], querystring: Strict(PageQuery), response: answers({ 200: PageOf(AccessKeyView) }) } }, async (req) =>
    s.accessKeys.list(callerOf(req), pageOf(req.query)),
  );
  app.patch('/api/v1/access-keys/:id', { schema: { tags: ['access keys'], params: KeyParams, body: Strict({ status: AccessKeyStatus }), response: answers({ 200: OneKey }) } }, async (req) => ({
    access_key: await s.accessKeys.setStatus(callerOf(req), req.params.id, req.body.status),
  }));
  app.delete('/api/v1/access-keys/:id', { schema: { tags: ['access keys'], params: KeyParams, response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.accessKeys.delete(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });
}
