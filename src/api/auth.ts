import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../domain/caller.js';
import { forbidden, unauthorized } from '../domain/errors.js';
import type { Access } from '../services/access.js';
import type { AccountsService } from '../services/accounts.js';

export const SESSION_COOKIE = 'cairn_session';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /** The session's CSRF token, when the caller came with a session cookie (the console reads it after a reload). */
    csrfToken: string | null;
  }
  interface FastifyContextConfig {
    /** Routes open to anyone (register, login, health) say so; all others need a caller. */
    public?: boolean;
    /**
     * Routes that `cairn agent` calls (src/cli/agent.ts: register, poll, report, read its resource,
     * upload a backup, read a point back for a rollback) say so: a token scoped to agent work may call
     * these and no other.
     */
    agentWork?: boolean;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Resolves who is asking, from a bearer token (programs, the CLI, agents) or the
 * session cookie (the console). A cookie-borne write must also carry the
 * session's CSRF token in a header, which another site cannot read or set.
 */
export function authenticate({ accounts, access }: { accounts: AccountsService; access: Access }) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    req.caller = null;
    req.csrfToken = null;
    const header = req.headers.authorization;
    if (header) {
      req.caller = await callerOfToken(accounts, bearerToken(header));
      access.requireScopeFor(req.caller, req.routeOptions.config.agentWork === true || req.routeOptions.config.public === true);
      return;
    }
    const session = req.cookies[SESSION_COOKIE];
    if (session) {
      const found = await accounts.fromSession(session);
      if (found) {
        if (!SAFE.has(req.method) && req.headers[CSRF_HEADER] !== found.csrf)
          throw forbidden(`A write from the browser must carry the session's CSRF token in the ${CSRF_HEADER} header.`);
        req.caller = found.caller;
        req.csrfToken = found.csrf;
      }
    }
    if (!req.caller && !req.routeOptions.config.public) throw unauthorized();
  };
}

/**
 * Whether the browser reached us over HTTPS: always on a TLS connection of our
 * own (a trusted proxy's X-Forwarded-Proto does not take that back); else
 * by what a proxy named in --trust-proxy says (request.protocol reads its
 * X-Forwarded-Proto, and only from those addresses). Its session cookie is then Secure.
 */
export function overHttps(req: FastifyRequest): boolean {
  return (req.raw.socket as { encrypted?: boolean } | null)?.encrypted === true || req.protocol === 'https';
}

/** The token of an `Authorization: Bearer <token>` header; null for any other. */
export function bearerToken(header: string | undefined): string | null {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? null;
}

/** Who holds `token`; 401 for no token, or one that is unknown, revoked or of a disabled account. */
export async function callerOfToken(accounts: AccountsService, token: string | null): Promise<Caller> {
  const caller = token ? await accounts.fromToken(token) : null;
  if (!caller) throw unauthorized('The API token is unknown, revoked, or its account is disabled; create a new one with `cairn login`.');
  return caller;
}

/** The caller of a route that requires one; the hook above guarantees it. */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw unauthorized();
  return req.caller;
}
