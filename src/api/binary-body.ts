import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { CairnError } from '../domain/errors.js';

/**
 * Reads an application/octet-stream body (a chunk blob, a manifest) into one
 * buffer sized from Content-Length up front. Fastify's own buffer parser keeps
 * every piece and concatenates them at the end, which copies each chunk once
 * more; and the buffer made here owns its memory, so it can go to a worker
 * thread for verifying and come back without a copy either.
 */
export async function readBinaryBody(req: FastifyRequest, payload: IncomingMessage): Promise<Buffer> {
  const limit = req.routeOptions.bodyLimit ?? 1024 * 1024;
  const tooLarge = () => new CairnError(413, 'too_large', `The request body is larger than the ${limit} bytes this endpoint accepts.`);
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && !Number.isSafeInteger(declared)) throw new CairnError(400, 'bad_request', 'The Content-Length header is not a number of bytes.');
  if (declared !== undefined && declared > limit) {
    payload.resume(); // drain, so the answer can be read on a kept-alive connection
    throw tooLarge();
  }

  if (declared !== undefined) {
    const body = Buffer.allocUnsafeSlow(declared);
    let filled = 0;
    for await (const piece of payload as AsyncIterable<Buffer>) {
      if (filled + piece.length > declared) throw new CairnError(400, 'bad_request', `The request body ran past its Content-Length of ${declared} bytes.`);
      piece.copy(body, filled);
      filled += piece.length;
    }
    if (filled !== declared) throw new CairnError(400, 'bad_request', `The request body ended after ${filled} of the ${declared} bytes its Content-Length announced.`);
    return body;
  }

  // Chunked transfer encoding: the size is known only at the end.
  const pieces: Buffer[] = [];
  let total = 0;
  for await (const piece of payload as AsyncIterable<Buffer>) {
    total += piece.length;
    if (total > limit) throw tooLarge();
    pieces.push(piece);
  }
  const body = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const piece of pieces) at += piece.copy(body, at);
  return body;
}
