import { Type } from '@sinclair/typebox';
import type { Services } from '../../services/index.js';
import { pageOf } from '../../domain/page.js';
import { badRequest, CairnError } from '../../domain/errors.js';
import { callerOf } from '../auth.js';
import { sendChunk, sendChunks } from '../binary-body.js';
import { chunkStream } from '../chunk-stream.js';
import { answers, Binary, CHUNK_LOG_LEVEL, CursorPageQuery, Description, Digest, DigestList, digestList, Id, Name, NoContent, PageQuery, Strict, UpgradeAnswers } from '../schemas.js';
import { EventView, ImageView, NotificationPage, NotificationsRead, PageOf, SharedChainDetailView, SharedChainView, ShareView } from '../../contract/index.js';
import type { Api } from '../types.js';

const ChainParams = Strict({ id: Id('point') });
const ImageParams = Strict({ id: Id('image') });
const Recipient = Type.String({ minLength: 1, maxLength: 254 });
const OneImage = Type.Object({ image: ImageView });

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range; several are answered with the whole image). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(size - n, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

export function sharingRoutes(app: Api, s: Services): void {
  // --- the owner's side
  app.post(
    '/api/v1/chains/:id/shares',
    {
      schema: {
        tags: ['sharing'],
        params: ChainParams,
        body: Strict({
          recipients: Type.Array(Recipient, { minItems: 1, maxItems: 100 }),
          expires_at: Type.Optional(Type.String({ format: 'date-time' })),
          note: Type.Optional(Type.String({ maxLength: 1000 })),
        }),
        response: answers({ 201: Type.Object({ shares: Type.Array(ShareView) }) }),
      },
    },
    async (req, reply) => reply.status(201).send({ shares: await s.shares.share(callerOf(req), req.params.id, req.body) }),
  );
  app.get('/api/v1/chains/:id/shares', { schema: { tags: ['sharing'], params: ChainParams, response: answers({ 200: PageOf(ShareView) }) } }, async (req) => {
    const items = await s.shares.list(callerOf(req), req.params.id);
    return { total_count: items.length, items };
  });
  app.post(
    '/api/v1/chains/:id/shares/cancel',
    { schema: { tags: ['sharing'], params: ChainParams, body: Strict({ recipients: Type.Optional(Type.Array(Recipient, { minItems: 1, maxItems: 100 })), all: Type.Optional(Type.Boolean()) }), response: answers({ 200: Type.Object({ cancelled: Type.Array(ShareView) }) }) } },
    async (req) => ({ cancelled: await s.shares.cancel(callerOf(req), req.params.id, req.body) }),
  );

  // --- the recipient's side: 共享备份
  app.get('/api/v1/shared', { schema: { tags: ['sharing'], querystring: Strict({ ...CursorPageQuery, search: Type.Optional(Type.String({ maxLength: 128 })) }), response: answers({ 200: PageOf(SharedChainView) }) } }, async (req) =>
    s.shares.received(callerOf(req), pageOf(req.query), req.query),
  );
  app.get('/api/v1/shared/:id', { schema: { tags: ['sharing'], params: ChainParams, response: answers({ 200: Type.Object({ chain: SharedChainDetailView }) }) } }, async (req) => ({ chain: await s.shares.receivedOne(callerOf(req), req.params.id) }));
  app.delete('/api/v1/shared/:id', { schema: { tags: ['sharing'], params: ChainParams, response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.shares.removeReceived(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });

  // --- images: 制作新镜像
  app.post(
    '/api/v1/images',
    {
      schema: {
        tags: ['images'],
        body: Strict({ point_id: Type.Optional(Id('point')), chain_id: Type.Optional(Id('point')), disk: Type.Optional(Name), name: Name, description: Type.Optional(Description) }),
        response: answers({ 201: OneImage }),
      },
    },
    async (req, reply) => reply.status(201).send({ image: await s.images.create(callerOf(req), req.body) }),
  );
  app.get(
    '/api/v1/images',
    { schema: { tags: ['images'], querystring: Strict({ ...PageQuery, search: Type.Optional(Type.String({ maxLength: 128 })), source: Type.Optional(Type.Union([Type.Literal('own'), Type.Literal('shared')])) }), response: answers({ 200: PageOf(ImageView) }) } },
    async (req) => s.images.list(callerOf(req), pageOf(req.query), req.query),
  );
  app.get('/api/v1/images/:id', { schema: { tags: ['images'], params: ImageParams, response: answers({ 200: OneImage }) } }, async (req) => ({ image: await s.images.get(callerOf(req), req.params.id) }));
  app.patch(
    '/api/v1/images/:id',
    { schema: { tags: ['images'], params: ImageParams, body: Strict({ name: Type.Optional(Name), description: Type.Optional(Description) }), response: answers({ 200: OneImage }) } },
    async (req) => ({ image: await s.images.edit(callerOf(req), req.params.id, req.body) }),
  );
  app.delete('/api/v1/images/:id', { schema: { tags: ['images'], params: ImageParams, response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.images.delete(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });
  app.get('/api/v1/images/:id/manifest', { schema: { tags: ['images'], params: ImageParams, response: answers({ 200: Binary }) } }, async (req, reply) =>
    reply.type('application/octet-stream').send(await s.images.manifest(callerOf(req), req.params.id)),
  );
  app.get('/api/v1/images/:id/chunks/:digest', { logLevel: CHUNK_LOG_LEVEL, schema: { tags: ['images'], params: Strict({ id: Id('image'), digest: Digest }), response: answers({ 200: Binary }) } }, async (req, reply) =>
    sendChunk(reply, await s.images.chunks(callerOf(req), req.params.id, [req.params.digest])),
  );
  app.get('/api/v1/images/:id/chunks', { logLevel: CHUNK_LOG_LEVEL, schema: { tags: ['images'], params: ImageParams, querystring: DigestList, response: answers({ 200: Binary }) } }, async (req, reply) => {
    const digests = digestList(req.query.digests);
    return sendChunks(reply, await s.images.chunks(callerOf(req), req.params.id, digests));
  });
  app.get('/api/v1/images/:id/chunk-stream', { config: { chunkStream: true }, schema: { tags: ['images'], params: ImageParams, response: answers(UpgradeAnswers) } }, async (req, reply) => {
    await s.images.checkReadable(callerOf(req), req.params.id);
    return chunkStream(req, reply, s, { images: req.params.id });
  });
  app.get('/api/v1/images/:id/export', { schema: { tags: ['images'], params: ImageParams, response: answers({ 200: Binary, 206: Binary }) } }, async (req, reply) => {
    const caller = callerOf(req);
    const image = await s.images.get(caller, req.params.id);
    const range = parseRange(req.headers.range, image.size);
    if (range === 'unsatisfiable') {
      reply.header('content-range', `bytes */${image.size}`);
      throw new CairnError(416, 'range_not_satisfiable', `The range ${req.headers.range} is outside the image (${image.size} bytes).`);
    }
    const out = await s.images.export(caller, image.id, range ?? undefined).catch((err: unknown) => {
      if (err instanceof RangeError) throw badRequest(err.message, 'range');
      throw err;
    });
    reply
      .header('accept-ranges', 'bytes')
      .header('content-length', String(out.end - out.start + 1))
      .header('content-disposition', `attachment; filename="${image.id}.raw"`)
      .type('application/octet-stream');
    if (range) reply.status(206).header('content-range', `bytes ${out.start}-${out.end}/${out.size}`);
    return reply.send(out.stream);
  });

  // --- activity
  app.get(
    '/api/v1/events',
    { schema: { tags: ['activity'], querystring: Strict({ ...CursorPageQuery, chain_id: Type.Optional(Id('point')), type: Type.Optional(Type.String({ maxLength: 32 })) }), response: answers({ 200: PageOf(EventView) }) } },
    async (req) => s.events.list(callerOf(req), pageOf(req.query), req.query),
  );
  app.get('/api/v1/notifications', { schema: { tags: ['activity'], querystring: Strict({ ...PageQuery, unread: Type.Optional(Type.Boolean()) }), response: answers({ 200: NotificationPage }) } }, async (req) =>
    s.events.notifications(callerOf(req), pageOf(req.query), req.query.unread ?? false),
  );
  app.post('/api/v1/notifications/read', { schema: { tags: ['activity'], response: answers({ 200: NotificationsRead }) } }, async (req) => s.events.markAllRead(callerOf(req)));
  app.post('/api/v1/notifications/:id/read', { schema: { tags: ['activity'], params: Strict({ id: Id('notification') }), response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.events.markRead(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });
}
