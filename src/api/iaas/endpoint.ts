import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../domain/caller.js';
import type { Services } from '../../services/index.js';
import type { Api } from '../types.js';
import type { Action } from './action.js';
import { imageActions } from './actions/images.js';
import { jobAndResourceActions } from './actions/jobs-resources.js';
import { sharingActions } from './actions/sharing.js';
import { snapshotActions } from './actions/snapshots.js';
import { badParameter, IaasError, RET, retCodeOf } from './errors.js';
import { IaasParams } from './params.js';
import { IAAS_PATH, isSignatureMethod, sign, signatureMatches } from './signature.js';

/** How far a request's time_stamp may be from the server's clock, either way: a captured request is refused after this. */
export const TIME_WINDOW_MS = 15 * 60_000;

const ACTIONS: Record<string, Action> = { ...snapshotActions, ...imageActions, ...jobAndResourceActions, ...sharingActions };
export const IAAS_ACTIONS = Object.keys(ACTIONS);

const TIME_STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

function timeOf(name: string, value: string): number {
  const t = Date.parse(value);
  if (!TIME_STAMP.test(value) || Number.isNaN(t)) throw badParameter(`Parameter "${name}" must be a UTC time like 2026-12-06T14:30:10Z; it is "${value}".`);
  return t;
}

/**
 * Who signed the request: the key's holder, if the signature is the key's over
 * these very parameters and the request is fresh (its time_stamp within the
 * window, or before its expires).
 */
async function signer(s: Services, method: string, params: IaasParams): Promise<Caller> {
  const keyId = params.required('access_key_id');
  const given = params.required('signature');
  const algorithm = params.required('signature_method');
  if (!isSignatureMethod(algorithm)) throw badParameter(`signature_method must be HmacSHA256 or HmacSHA1; it is "${algorithm}".`);
  if (params.required('signature_version') !== '1') throw badParameter('signature_version must be 1: it is the only version this server checks.');
  const expires = params.string('expires');
  const stamp = expires === undefined ? params.required('time_stamp') : params.string('time_stamp');
  const stampAt = stamp === undefined ? undefined : timeOf('time_stamp', stamp);
  const expiresAt = expires === undefined ? undefined : timeOf('expires', expires);
  const key = await s.accessKeys.forSignature(keyId);
  // One answer for an unknown key, a disabled one and a wrong signature: none tells which keys exist.
  if (!key || !signatureMatches(sign(key.secret, method, params.all, algorithm), given))
    throw new IaasError(RET.authFailed, 'Authentication failed: the access key is unknown or disabled, or the signature is not the one its secret makes for these parameters.');
  const now = Date.now();
  if (expiresAt !== undefined ? now > expiresAt : Math.abs(now - stampAt!) > TIME_WINDOW_MS)
    throw new IaasError(RET.expired, expiresAt !== undefined
      ? `The request expired at ${expires}; sign it again.`
      : `The time_stamp ${stamp} is more than ${TIME_WINDOW_MS / 60_000} minutes from the server's time (${new Date(now).toISOString()}); sign the request again, with a synchronised clock.`);
  await s.accessKeys.touch(keyId);
  return key.caller;
}

function paramsOf(req: FastifyRequest): IaasParams {
  const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  const pairs: [string, string][] = [...new URLSearchParams(query)];
  if (req.method === 'POST') {
    if (typeof req.body !== 'string') throw badParameter('Send the parameters as the body, with Content-Type: application/x-www-form-urlencoded.');
    pairs.push(...new URLSearchParams(req.body));
  }
  return IaasParams.parse(pairs);
}

async function handle(s: Services, req: FastifyRequest): Promise<Record<string, unknown>> {
  const params = paramsOf(req);
  const caller = await signer(s, req.method, params);
  const name = params.required('action');
  const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (!action) throw badParameter(`Unknown action "${name}"; this server serves ${IAAS_ACTIONS.join(', ')} (docs/qingcloud-api.md).`);
  return { action: `${name}Response`, ...(await action({ caller, params, s })), ret_code: 0 };
}

/**
 * QingCloud's action API (docs/qingcloud-api.md): GET with the parameters in the
 * query, or POST with them as a form body, at /iaas/. Every answer is JSON with
 * HTTP 200, as QingCloud's SDKs expect: `ret_code` 0, or an error's code and message.
 */
export async function iaasEndpoint(app: Api, s: Services): Promise<void> {
  await app.register(async (scope) => {
    // Form bodies only here: the REST API takes JSON alone.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((err, _req, reply) => {
      const body = retCodeOf(err instanceof IaasError ? err : badParameter(err instanceof Error ? err.message : String(err)));
      return reply.status(200).send(body);
    });
    const answer = async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return reply.status(200).send(await handle(s, req));
      } catch (err) {
        const body = retCodeOf(err);
        if (body.ret_code === RET.internal) req.log.error({ err }, 'QingCloud action failed');
        return reply.status(200).send(body);
      }
    };
    scope.get(IAAS_PATH, { schema: { hide: true } }, answer);
    scope.post(IAAS_PATH, { schema: { hide: true } }, answer);
  });
}
