import { Type } from '@sinclair/typebox';
import type { Services } from '../../services/index.js';
import { SESSION_TTL_MS } from '../../services/accounts.js';
import { callerOf, overHttps, SESSION_COOKIE } from '../auth.js';
import { answers, Email, Id, Name, NoContent, PageQuery, Password, Strict } from '../schemas.js';
import { AccountLookupView, AccountStatus, AccountView, Language, NewTokenView, PageOf, SessionView, TimeZone, TokenScope, TokenView } from '../../contract/index.js';
import { pageOf } from '../../domain/page.js';
import type { Api } from '../types.js';

const Credentials = Strict({ email: Email, password: Password });
const NewAccount = Strict({ email: Email, password: Password, language: Type.Optional(Language), timezone: Type.Optional(TimeZone) });
const OneAccount = Type.Object({ account: AccountView });

export function accountRoutes(app: Api, s: Services): void {
  app.post('/api/v1/accounts', { config: { public: true }, schema: { tags: ['accounts'], body: NewAccount, response: answers({ 201: OneAccount }) } }, async (req, reply) => {
    const account = await s.accounts.register(req.body, req.caller ?? undefined, req.ip);
    return reply.status(201).send({ account });
  });

  app.post('/api/v1/sessions', { config: { public: true }, schema: { tags: ['accounts'], body: Credentials, response: answers({ 200: SessionView }) } }, async (req, reply) => {
    const { account, session, csrf } = await s.accounts.login(req.body, req.ip);
    reply.setCookie(SESSION_COOKIE, session, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: overHttps(req),
      maxAge: SESSION_TTL_MS / 1000,
    });
    return { account, csrf_token: csrf };
  });

  app.delete('/api/v1/sessions/current', { schema: { tags: ['accounts'], response: answers({ 204: NoContent }) } }, async (req, reply) => {
    const session = req.cookies[SESSION_COOKIE];
    if (session) await s.accounts.logout(session);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send(null);
  });

  app.get('/api/v1/account', { schema: { tags: ['accounts'], response: answers({ 200: SessionView }) } }, async (req) => ({
    account: await s.accounts.me(callerOf(req)),
    ...(req.csrfToken ? { csrf_token: req.csrfToken } : {}),
  }));

  app.patch(
    '/api/v1/account',
    { schema: { tags: ['accounts'], body: Strict({ language: Type.Optional(Language), timezone: Type.Optional(TimeZone) }), response: answers({ 200: OneAccount }) } },
    async (req) => ({ account: await s.accounts.setPreferences(callerOf(req), req.body) }),
  );

  app.get('/api/v1/accounts/lookup', { schema: { tags: ['accounts'], querystring: Strict({ q: Type.String({ minLength: 1, maxLength: 254 }) }), response: answers({ 200: Type.Object({ account: AccountLookupView }) }) } }, async (req) => ({
    account: await s.accounts.lookup(callerOf(req), req.query.q),
  }));

  app.post(
    '/api/v1/tokens',
    { schema: { tags: ['tokens'], body: Strict({ name: Name, scope: Type.Optional(TokenScope) }), response: answers({ 201: Type.Object({ token: NewTokenView }) }) } },
    async (req, reply) => reply.status(201).send({ token: await s.accounts.createToken(callerOf(req), req.body.name, req.body.scope) }),
  );
  app.get('/api/v1/tokens', { schema: { tags: ['tokens'], querystring: Strict({ ...PageQuery, scope: Type.Optional(TokenScope) }), response: answers({ 200: PageOf(TokenView) }) } }, async (req) =>
    s.accounts.listTokens(callerOf(req), pageOf(req.query), { scope: req.query.scope }),
  );
  app.delete('/api/v1/tokens/:id', { schema: { tags: ['tokens'], params: Strict({ id: Id('token') }), response: answers({ 200: Type.Object({ token: TokenView }) }) } }, async (req) => ({
    token: await s.accounts.revokeToken(callerOf(req), req.params.id),
  }));

  app.post('/api/v1/subaccounts', { schema: { tags: ['sub-accounts'], body: Credentials, response: answers({ 201: OneAccount }) } }, async (req, reply) =>
    reply.status(201).send({ account: await s.accounts.createSubaccount(callerOf(req), req.body) }),
  );
  app.get('/api/v1/subaccounts', { schema: { tags: ['sub-accounts'], querystring: Strict(PageQuery), response: answers({ 200: PageOf(AccountView) }) } }, async (req) =>
    s.accounts.listSubaccounts(callerOf(req), pageOf(req.query)),
  );
  app.patch(
    '/api/v1/subaccounts/:id',
    { schema: { tags: ['sub-accounts'], params: Strict({ id: Id('account') }), body: Strict({ status: AccountStatus }), response: answers({ 200: OneAccount }) } },
    async (req) => ({ account: await s.accounts.setSubaccountStatus(callerOf(req), req.params.id, req.body.status) }),
  );
  app.delete('/api/v1/subaccounts/:id', { schema: { tags: ['sub-accounts'], params: Strict({ id: Id('account') }), response: answers({ 204: NoContent }) } }, async (req, reply) => {
    await s.accounts.deleteSubaccount(callerOf(req), req.params.id);
    return reply.status(204).send(null);
  });

  app.get('/api/v1/admin/accounts', { schema: { tags: ['admin'], querystring: Strict(PageQuery), response: answers({ 200: PageOf(AccountView) }) } }, async (req) =>
    s.accounts.listAll(callerOf(req), pageOf(req.query)),
  );
  app.patch(
    '/api/v1/admin/accounts/:id',
    { schema: { tags: ['admin'], params: Strict({ id: Id('account') }), body: Strict({ status: AccountStatus }), response: answers({ 200: OneAccount }) } },
    async (req) => ({ account: await s.accounts.adminSetStatus(callerOf(req), req.params.id, req.body.status) }),
  );
}
