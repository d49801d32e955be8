import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { Services } from '../../services/index.js';
import type { FileSource, VolumeChoice } from '../../services/files.js';
import { CairnError } from '../../domain/errors.js';
import { callerOf } from '../auth.js';
import { answers, Binary, Id, Name, Strict } from '../schemas.js';
import { FileListingView } from '../../contract/index.js';
import type { Api } from '../types.js';
import { parseRange } from './sharing.js';

const FileQuery = Strict({
  path: Type.Optional(Type.String({ maxLength: 4096 })),
  disk: Type.Optional(Name),
  partition: Type.Optional(Type.Integer({ minimum: 1, maximum: 128 })),
});

/** `attachment; filename=…` that survives any name: ASCII fallback plus the UTF-8 original (RFC 6266). */
function disposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Files out of a point's or an image's disk, read in place (docs/files.md): a
 * folder's listing, a file's bytes (with Range), a folder as a tar stream.
 */
export function fileRoutes(app: Api, s: Services): void {
  for (const kind of ['point', 'image'] as const) {
    const base = `/api/v1/${kind}s/:id/files`;
    const params = Strict({ id: Id(kind) });
    const tags = [kind === 'point' ? 'backups' : 'images'];
    const source = (id: string): FileSource => ({ kind, id });
    const choice = (q: { disk?: string; partition?: number }): VolumeChoice => ({ disk: q.disk, partition: q.partition });

    app.get(base, { schema: { tags, params, querystring: FileQuery, response: answers({ 200: FileListingView }) } }, async (req) =>
      s.files.list(callerOf(req), source(req.params.id), choice(req.query), req.query.path),
    );

    app.get(`${base}/content`, { schema: { tags, params, querystring: FileQuery, response: answers({ 200: Binary, 206: Binary }) } }, async (req, reply) => {
      const out = await s.files.file(callerOf(req), source(req.params.id), choice(req.query), req.query.path, (size) => {
        const range = parseRange(req.headers.range, size);
        if (range === 'unsatisfiable') {
          reply.header('content-range', `bytes */${size}`);
          throw new CairnError(416, 'range_not_satisfiable', `The range ${req.headers.range} is outside the file (${size} bytes).`);
        }
        return range;
      });
      reply
        .header('accept-ranges', 'bytes')
        .header('content-length', String(out.end - out.start + 1))
        .header('last-modified', new Date(out.entry.mtime).toUTCString())
        .header('content-disposition', disposition(out.entry.name))
        .type('application/octet-stream');
      if (out.partial) reply.status(206).header('content-range', `bytes ${out.start}-${out.end}/${out.entry.size}`);
      return sendStream(reply, out.stream);
    });

    app.get(`${base}/archive`, { schema: { tags, params, querystring: FileQuery, response: answers({ 200: Binary }) } }, async (req, reply) => {
      const out = await s.files.archive(callerOf(req), source(req.params.id), choice(req.query), req.query.path);
      reply.header('content-disposition', disposition(`${out.name}.tar`)).type('application/x-tar');
      return sendStream(reply, out.stream);
    });
  }
}

/** Once the headers are out a failure can only cut the answer short; it is logged with the request. */
function sendStream(reply: FastifyReply, stream: NodeJS.ReadableStream) {
  stream.on('error', (err: Error) => reply.log.warn({ err }, 'file stream cut short'));
  return reply.send(stream);
}
