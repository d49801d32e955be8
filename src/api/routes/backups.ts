import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.js';
import { pageOf } from '../../domain/page.js';
import { BATCH_QUERY_PATTERN, MAX_BATCH_BODY, parseBatchQuery, splitBatchBody } from '../../wire/chunk-batch.js';
import { MAX_BLOB_SIZE } from '../../format/chunk-codec.js';
import { badRequest } from '../../domain/errors.js';
import { callerOf } from '../auth.js';
import { SlottedBody, sendChunk, sendChunks, type BinaryBodyConfig } from '../binary-body.js';
import { chunkStream } from '../chunk-stream.js';
import { answers, Binary, CHUNK_LOG_LEVEL, CursorPageQuery, Description, Digest, DigestList, digestList, Id, Name, NoContent, PageQuery, parseBatch, ResourceId, Strict, UpgradeAnswers } from '../schemas.js';
import {
  AgentJobView,
  AgentView,
  BackupType,
  BatchChunkView,
  ChainDetailView,
  ChainView,
  ChunkStoredView,
  CommittedPointView,
  DeletedView,
  GcReport,
  JobView,
  Nullable,
  OptionalName,
  PageOf,
  PointDetailView,
  RecycleItemView,
  ResourceFromPointView,
  RestoredView,
  UploadDisk,
  UploadView,
  VerifyReport,
} from '../../contract/index.js';
import type { Api } from '../types.js';

const OneUpload = Type.Object({ upload: UploadView });
const OneJob = Type.Object({ job: JobView });
const OnePoint = Type.Object({ point: PointDetailView });
const Deleted = Type.Object({ deleted: DeletedView });
const PointParams = Strict({ id: Id('point') });
const Edit = Strict({ name: Type.Optional(OptionalName), description: Type.Optional(Description) });
/** A manifest of a 16 TiB disk: 4 Mi chunks of 32 bytes. */
const MAX_MANIFEST = 24 + 32 * 4 * 1024 * 1024;

/**
 * The blob lengths an upload batch's query names, so that its body is read
 * one blob to a slot; null where the query is malformed, for the route to
 * refuse it as such.
 */
function batchBlobLengths(req: FastifyRequest): number[] | null {
  const chunks = (req.query as { chunks?: unknown } | undefined)?.chunks;
  if (typeof chunks !== 'string') return null;
  try {
    return parseBatchQuery(chunks).map((entry) => entry.length);
  } catch {
    return null;
  }
}

export function backupRoutes(app: Api, s: Services): void {
  const { blobSlots } = app;
  // --- the upload protocol (docs/upload-protocol.md)
  app.post(
    '/api/v1/uploads',
    {
      config: { agentWork: true },
      schema: {
        tags: ['backups'],
        body: Strict({
          resource_id: ResourceId,
          type: BackupType,
          name: Type.Optional(Name),
          description: Type.Optional(Description),
          job_id: Type.Optional(Id('job')),
          request_key: Type.Optional(
            Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$', description: 'A key the client makes for this backup: opening again with the same key answers with the same upload, so the request may be retried.' }),
          ),
          disks: Type.Array(Strict({ name: Name, size: Type.Integer({ minimum: 1 }) }), { minItems: 1, maxItems: 16 }),
        }),
        response: answers({ 201: OneUpload }),
      },
    },
    async (req, reply) => reply.status(201).send({ upload: await s.uploads.open(callerOf(req), req.body) }),
  );
  app.get('/api/v1/uploads/:id', { config: { agentWork: true }, schema: { tags: ['backups'], params: PointParams, response: answers({ 200: OneUpload }) } }, async (req) => ({ upload: await s.uploads.get(callerOf(req), req.params.id) }));
  app.post(
    '/api/v1/uploads/:id/missing',
    { config: { agentWork: true }, logLevel: CHUNK_LOG_LEVEL, schema: { tags: ['backups'], params: PointParams, body: Strict({ digests: Type.Array(Type.String(), { maxItems: 1024 }) }), response: answers({ 200: Type.Object({ missing: Type.Array(Type.String()) }) }) } },
    async (req) => ({ missing: await s.uploads.missing(callerOf(req), req.params.id, req.body.digests) }),
  );
  app.put(
    '/api/v1/uploads/:id/chunks/:digest',
    {
      bodyLimit: MAX_BLOB_SIZE,
      logLevel: CHUNK_LOG_LEVEL,
      config: { agentWork: true, ...({ bodyBuffers: blobSlots } satisfies BinaryBodyConfig) },
      schema: { tags: ['backups'], params: Strict({ id: Id('point'), digest: Digest }), consumes: ['application/octet-stream'], response: answers({ 200: ChunkStoredView, 201: ChunkStoredView }) },
    },
    async (req, reply) => {
      try {
        const r = await s.uploads.putChunk(callerOf(req), req.params.id, req.params.digest, req.body as Buffer);
        return reply.status(r.stored ? 201 : 200).send(r);
      } finally {
        blobSlots.give(req.body as Buffer); // stored (or refused) by now
      }
    },
  );
  app.post(
    '/api/v1/uploads/:id/chunks',
    {
      bodyLimit: MAX_BATCH_BODY,
      logLevel: CHUNK_LOG_LEVEL,
      config: { agentWork: true, ...({ bodyBlobs: batchBlobLengths } satisfies BinaryBodyConfig) },
      schema: { tags: ['backups'], params: PointParams, querystring: Strict({ chunks: Type.String({ pattern: BATCH_QUERY_PATTERN }) }), consumes: ['application/octet-stream'], response: answers({ 200: Type.Object({ chunks: Type.Array(BatchChunkView) }) }) },
    },
    async (req) => {
      const body = req.body;
      try {
        if (!(body instanceof SlottedBody) && !Buffer.isBuffer(body)) throw badRequest('Send the blobs as the body, with Content-Type: application/octet-stream.', 'body');
        const entries = parseBatch('chunks', () => parseBatchQuery(req.query.chunks));
        const chunks = body instanceof SlottedBody ? entries.map(({ digest }, i) => ({ digest, blob: body.blobs[i]! })) : parseBatch('chunks', () => splitBatchBody(entries, body));
        return { chunks: await s.uploads.putChunks(callerOf(req), req.params.id, chunks) };
      } finally {
        if (body instanceof SlottedBody) body.release(); // stored (or refused) by now
      }
    },
  );
  app.get('/api/v1/uploads/:id/chunk-stream', { config: { agentWork: true, chunkStream: true }, schema: { tags: ['backups'], params: PointParams, response: answers(UpgradeAnswers) } }, async (req, reply) => {
    await s.uploads.get(callerOf(req), req.params.id);
    return chunkStream(req, reply, s, { uploads: req.params.id });
  });
  app.put(
    '/api/v1/uploads/:id/disks/:disk/manifest',
    { config: { agentWork: true }, bodyLimit: MAX_MANIFEST, schema: { tags: ['backups'], params: Strict({ id: Id('point'), disk: Name }), consumes: ['application/octet-stream'], response: answers({ 200: Type.Object({ disk: UploadDisk }) }) } },
    async (req) => ({ disk: await s.uploads.putManifest(callerOf(req), req.params.id, req.params.disk, req.body as Buffer) }),
  );
  app.post(
    '/api/v1/uploads/:id/progress',
    { config: { agentWork: true }, schema: { tags: ['backups'], params: PointParams, body: Strict({ bytes_done: Type.Integer({ minimum: 0 }) }), response: answers({ 204: NoContent }) } },
    async (req, reply) => {
      await s.uploads.progress(callerOf(req), req.params.id, req.body);
      return reply.status(204).send(null);
    },
  );
  app.post('/api/v1/uploads/:id/commit', { config: { agentWork: true }, schema: { tags: ['backups'], params: PointParams, response: answers({ 200: Type.Object({ point: CommittedPointView }) }) } }, async (req) => {
    const { point, chain } = await s.uploads.commit(callerOf(req), req.params.id);
    return { point: { id: point.id, chain_id: chain.id, type: point.type, parent_id: point.parent_id, logical_size: point.logical_size, stored_bytes: point.stored_bytes, snapshot_at: point.snapshot_at } };
  });
  app.delete('/api/v1/uploads/:id', { config: { agentWork: true }, schema: { tags: ['backups'], params: PointParams, response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.uploads.abort(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });

  // --- backup now, through the resource's agent
  app.post(
    '/api/v1/resources/:id/backups',
    { schema: { tags: ['backups'], params: Strict({ id: ResourceId }), body: Strict({ type: BackupType, name: Type.Optional(Name) }), response: answers({ 202: OneJob }) } },
    async (req, reply) => reply.status(202).send({ job: await s.agents.requestBackup(callerOf(req), req.params.id, req.body) }),
  );

  // --- chains
  app.get(
    '/api/v1/chains',
    {
      config: { agentWork: true },
      schema: {
        tags: ['chains'],
        querystring: Strict({ ...CursorPageQuery, resource_id: Type.Optional(ResourceId), status: Type.Optional(Type.Union([Type.Literal('available'), Type.Literal('deleted')])), search: Type.Optional(Type.String({ maxLength: 128 })) }),
        response: answers({ 200: PageOf(ChainView) }),
      },
    },
    async (req) => s.chains.list(callerOf(req), pageOf(req.query), req.query),
  );
  app.get('/api/v1/chains/:id', { schema: { tags: ['chains'], params: PointParams, response: answers({ 200: Type.Object({ chain: ChainDetailView }) }) } }, async (req) => ({ chain: await s.chains.get(callerOf(req), req.params.id) }));
  app.patch('/api/v1/chains/:id', { schema: { tags: ['chains'], params: PointParams, body: Edit, response: answers({ 200: Type.Object({ chain: ChainView }) }) } }, async (req) => ({ chain: await s.chains.editChain(callerOf(req), req.params.id, req.body) }));
  app.delete('/api/v1/chains/:id', { schema: { tags: ['chains'], params: PointParams, response: answers({ 200: Deleted }) } }, async (req) => ({ deleted: await s.chains.deleteChain(callerOf(req), req.params.id) }));

  // --- points
  app.get('/api/v1/points/:id', { config: { agentWork: true }, schema: { tags: ['points'], params: PointParams, response: answers({ 200: OnePoint }) } }, async (req) => ({ point: await s.chains.getPoint(callerOf(req), req.params.id) }));
  app.patch('/api/v1/points/:id', { schema: { tags: ['points'], params: PointParams, body: Edit, response: answers({ 200: OnePoint }) } }, async (req) => ({ point: await s.chains.editPoint(callerOf(req), req.params.id, req.body) }));
  app.delete('/api/v1/points/:id', { schema: { tags: ['points'], params: PointParams, response: answers({ 200: Deleted }) } }, async (req) => ({ deleted: await s.chains.deletePoint(callerOf(req), req.params.id) }));
  app.get('/api/v1/points/:id/disks/:disk/manifest', { config: { agentWork: true }, schema: { tags: ['points'], params: Strict({ id: Id('point'), disk: Name }), response: answers({ 200: Binary }) } }, async (req, reply) =>
    reply.type('application/octet-stream').send(await s.data.pointManifest(callerOf(req), req.params.id, req.params.disk)),
  );
  app.get('/api/v1/points/:id/chunks/:digest', { config: { agentWork: true }, logLevel: CHUNK_LOG_LEVEL, schema: { tags: ['points'], params: Strict({ id: Id('point'), digest: Digest }), response: answers({ 200: Binary }) } }, async (req, reply) =>
    sendChunk(reply, await s.data.pointChunks(callerOf(req), req.params.id, [req.params.digest])),
  );
  app.get(
    '/api/v1/points/:id/chunks',
    { config: { agentWork: true }, logLevel: CHUNK_LOG_LEVEL, schema: { tags: ['points'], params: PointParams, querystring: DigestList, response: answers({ 200: Binary }) } },
    async (req, reply) => {
      const digests = digestList(req.query.digests);
      return sendChunks(reply, await s.data.pointChunks(callerOf(req), req.params.id, digests));
    },
  );
  app.get('/api/v1/points/:id/chunk-stream', { config: { agentWork: true, chunkStream: true }, schema: { tags: ['points'], params: PointParams, response: answers(UpgradeAnswers) } }, async (req, reply) => {
    await s.data.readablePoint(callerOf(req), req.params.id);
    return chunkStream(req, reply, s, { points: req.params.id });
  });
  app.post('/api/v1/points/:id/verify', { schema: { tags: ['points'], params: PointParams, response: answers({ 200: Type.Object({ report: VerifyReport }) }) } }, async (req) => ({ report: await s.data.verifyPoint(callerOf(req), req.params.id) }));
  app.post('/api/v1/points/:id/rollback', { schema: { tags: ['points'], params: PointParams, response: answers({ 202: OneJob }) } }, async (req, reply) =>
    reply.status(202).send({ job: await s.agents.requestRollback(callerOf(req), req.params.id) }),
  );
  app.post(
    '/api/v1/points/:id/volumes',
    { schema: { tags: ['points'], params: PointParams, body: Strict({ name: Name, disk: Type.Optional(Name) }), response: answers({ 201: Type.Object({ resource: ResourceFromPointView }) }) } },
    async (req, reply) => reply.status(201).send({ resource: await s.resources.createFromPoint(callerOf(req), req.params.id, req.body) }),
  );

  // --- recycle bin
  app.get('/api/v1/recycle-bin', { schema: { tags: ['recycle bin'], querystring: Strict(PageQuery), response: answers({ 200: PageOf(RecycleItemView) }) } }, async (req) => s.chains.recycleBin(callerOf(req), pageOf(req.query)));
  app.post('/api/v1/recycle-bin/:id/restore', { schema: { tags: ['recycle bin'], params: PointParams, response: answers({ 200: Type.Object({ restored: RestoredView }) }) } }, async (req) => ({ restored: await s.chains.restore(callerOf(req), req.params.id) }));
  app.delete('/api/v1/recycle-bin/:id', { schema: { tags: ['recycle bin'], params: PointParams, response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.chains.purge(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });

  // --- agents
  app.post(
    '/api/v1/agents',
    { config: { agentWork: true }, schema: { tags: ['agents'], body: Strict({ name: Name, resources: Type.Array(ResourceId, { maxItems: 256 }), version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }), response: answers({ 201: Type.Object({ agent: AgentView }) }) } },
    async (req, reply) => reply.status(201).send({ agent: await s.agents.register(callerOf(req), req.body) }),
  );
  app.get('/api/v1/agents', { schema: { tags: ['agents'], response: answers({ 200: PageOf(AgentView) }) } }, async (req) => {
    const items = await s.agents.list(callerOf(req));
    return { total_count: items.length, items };
  });
  app.post(
    '/api/v1/agents/:id/poll',
    { config: { agentWork: true }, schema: { tags: ['agents'], params: Strict({ id: Id('agent') }), querystring: Strict({ claim: Type.Optional(Type.Boolean()) }), response: answers({ 200: Type.Object({ job: Nullable(AgentJobView) }) }) } },
    async (req) => ({ job: await s.agents.poll(callerOf(req), req.params.id, req.query.claim ?? true) }),
  );
  app.post(
    '/api/v1/jobs/:id/report',
    {
      config: { agentWork: true },
      schema: {
        tags: ['agents'],
        params: Strict({ id: Id('job') }),
        body: Strict({
          bytes_done: Type.Optional(Type.Integer({ minimum: 0 })),
          bytes_total: Type.Optional(Type.Integer({ minimum: 0 })),
          status: Type.Optional(Type.Union([Type.Literal('successful'), Type.Literal('failed')])),
          error: Type.Optional(Type.String({ maxLength: 4096 })),
        }),
        response: answers({ 200: OneJob }),
      },
    },
    async (req) => ({ job: await s.agents.report(callerOf(req), req.params.id, req.body) }),
  );

  // --- store maintenance (administrators)
  app.post('/api/v1/admin/gc', { schema: { tags: ['admin'], response: answers({ 200: Type.Object({ report: GcReport }) }) } }, async (req) => ({ report: await s.gc.asked(callerOf(req)) }));
  app.post('/api/v1/admin/verify', { schema: { tags: ['admin'], response: answers({ 200: Type.Object({ report: VerifyReport }) }) } }, async (req) => ({ report: await s.data.verifyAll(callerOf(req)) }));
}
