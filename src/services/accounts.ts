import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import type { AccountTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, conflict, forbidden, notFound, unauthorized } from '../domain/errors.js';
import { isId, newId } from '../domain/ids.js';
import { type Page, type PageRequest } from '../domain/page.js';
import { checkName, checkPassword, normalizeEmail } from '../domain/rules.js';
import { isoPlus, nowIso } from '../domain/time.js';
import type { Access } from './access.js';
import { LoginThrottle } from './login-throttle.js';
import { hashPassword, hashSecret, newSecret, verifyPassword } from './passwords.js';
import type { AccountRef, AccountView, Language, NewTokenView, TokenScope, TokenView } from '../contract/index.js';
import { isUniqueViolation } from '../db/engine-errors.js';
import { checkTimezone } from '../domain/schedule.js';

/** A valid scrypt hash of a random password: what an unknown email is checked against. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$mW2Zrx2iHgVu1B3zVfOq5JQNuJ1lRpwbo9XGbGd3b0w=';

export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export const accountView = (a: AccountTable): AccountView => ({
  id: a.id,
  email: a.email,
  parent_id: a.parent_id,
  is_admin: a.is_admin === 1,
  status: a.status,
  created_at: a.created_at,
  language: a.language,
  timezone: a.timezone,
});

const tokenView = (t: TokenView): TokenView => ({
  id: t.id, name: t.name, scope: t.scope, created_at: t.created_at, last_used_at: t.last_used_at, revoked_at: t.revoked_at,
});

/** A new account: its sign-in, and optionally what its mails are written in and its time zone. */
export interface NewAccount {
  email: string;
  password: string;
  language?: Language;
  timezone?: string;
}

export interface AccountsOptions {
  openRegistration: boolean;
}

export class AccountsService {
  private readonly throttle: LoginThrottle;

  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly options: AccountsOptions,
  ) {
    this.throttle = new LoginThrottle(db);
  }

  /** Open sign-up; when registration is closed only an administrator creates accounts. */
  async register(input: NewAccount, by?: Caller): Promise<AccountView> {
    if (!this.options.openRegistration && !by?.isAdmin)
      throw forbidden('Registration is closed on this server; ask an administrator for an account.');
    return this.create(input, { parentId: null, isAdmin: false });
  }

  async create(input: NewAccount, opts: { parentId: string | null; isAdmin: boolean }): Promise<AccountView> {
    const email = normalizeEmail(input.email);
    checkPassword(input.password);
    const timezone = checkTimezone(input.timezone ?? 'UTC');
    const row: AccountTable = {
      id: newId('account'),
      email,
      password_hash: await hashPassword(input.password),
      parent_id: opts.parentId,
      is_admin: opts.isAdmin ? 1 : 0,
      status: 'active',
      created_at: nowIso(),
      language: input.language ?? 'en',
      timezone,
    };
    const taken = await this.db.selectFrom('accounts').select('id').where('email', '=', email).executeTakeFirst();
    if (taken) throw conflict(`An account with the email ${email} already exists; sign in instead.`, 'email_taken');
    try {
      await this.db.insertInto('accounts').values(row).execute();
    } catch (err) {
      // Two registrations racing for one email: the unique index decides.
      if (isUniqueViolation(err)) throw conflict(`An account with the email ${email} already exists.`, 'email_taken');
      throw err;
    }
    return accountView(row);
  }

  /** Makes an account an administrator, creating it if needed (used by `cairn admin create` and `--admin-email`). */
  async ensureAdmin(email: string, password?: string): Promise<AccountView> {
    const e = normalizeEmail(email);
    const existing = await this.db.selectFrom('accounts').selectAll().where('email', '=', e).executeTakeFirst();
    if (existing) {
      await this.db.updateTable('accounts').set({ is_admin: 1 }).where('id', '=', existing.id).execute();
      return accountView({ ...existing, is_admin: 1 });
    }
    if (!password) throw badRequest(`No account has the email ${e}; give a password to create it.`, 'password');
    return this.create({ email: e, password }, { parentId: null, isAdmin: true });
  }

  async login(input: { email: string; password: string }, address: string): Promise<{ account: AccountView; session: string; csrf: string }> {
    const email = input.email.trim().toLowerCase();
    const keys = [`email:${email}`, `addr:${address}`];
    // Counted as a failure until the password checks out, so parallel guesses cannot all slip past the limit.
    await this.throttle.begin(keys);
    const row = await this.db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirst();
    // An unknown email costs the same hash as a known one, so timing does not tell which emails exist.
    const ok = await verifyPassword(input.password, row?.password_hash ?? DUMMY_HASH);
    if (!row || !ok) throw unauthorized('The email or the password is wrong.');
    if (row.status !== 'active') throw forbidden('This account is disabled; ask its parent account or an administrator.');
    await this.throttle.succeed(keys);
    const { secret, hash } = newSecret('cs');
    const csrf = newSecret('csrf').secret;
    const now = nowIso();
    await this.db
      .insertInto('sessions')
      .values({ token_hash: hash, account_id: row.id, csrf_token: csrf, created_at: now, expires_at: isoPlus(now, SESSION_TTL_MS) })
      .execute();
    return { account: accountView(row), session: secret, csrf };
  }

  async logout(session: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('token_hash', '=', hashSecret(session)).execute();
  }

  /** Resolves a session cookie; returns the CSRF token the caller must echo on writes. */
  async fromSession(session: string): Promise<{ caller: Caller; csrf: string } | null> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
      .select(['accounts.id', 'accounts.email', 'accounts.is_admin', 'accounts.parent_id', 'accounts.status', 'sessions.csrf_token', 'sessions.expires_at'])
      .where('sessions.token_hash', '=', hashSecret(session))
      .executeTakeFirst();
    if (!row || row.status !== 'active' || row.expires_at < nowIso()) return null;
    return {
      caller: { accountId: row.id, email: row.email, isAdmin: row.is_admin === 1, parentId: row.parent_id, via: 'session' },
      csrf: row.csrf_token,
    };
  }

  async fromToken(token: string): Promise<Caller | null> {
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('accounts', 'accounts.id', 'api_tokens.account_id')
      .select(['api_tokens.id as token_id', 'api_tokens.last_used_at', 'api_tokens.scope', 'accounts.id', 'accounts.email', 'accounts.is_admin', 'accounts.parent_id', 'accounts.status'])
      .where('api_tokens.token_hash', '=', hashSecret(token))
      .where('api_tokens.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row || row.status !== 'active') return null;
    const now = nowIso();
    // Recording every use would make each request a write; a minute's precision is enough to spot stale tokens.
    if (!row.last_used_at || row.last_used_at < isoPlus(now, -60_000))
      await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.token_id).execute();
    const caller: Caller = { accountId: row.id, email: row.email, isAdmin: row.is_admin === 1, parentId: row.parent_id, via: 'token', tokenId: row.token_id };
    // An agent's token never carries its account's administrator rights.
    return row.scope === 'agent' ? { ...caller, isAdmin: false, scope: 'agent' } : caller;
  }

  async me(caller: Caller): Promise<AccountView> {
    return accountView(await this.access.account(caller, caller.accountId));
  }

  async createToken(caller: Caller, name: string, scope: TokenScope = 'full'): Promise<NewTokenView> {
    this.access.requireFullScope(caller);
    const { secret, hash } = newSecret('cairn');
    const row = { id: newId('token'), account_id: caller.accountId, name: checkName(name), scope, token_hash: hash, created_at: nowIso(), last_used_at: null, revoked_at: null };
    await this.db.insertInto('api_tokens').values(row).execute();
    return { ...tokenView(row), token: secret };
  }

  async listTokens(caller: Caller, page: PageRequest, filter: { scope?: TokenScope } = {}): Promise<Page<TokenView>> {
    let base = this.db.selectFrom('api_tokens').where('account_id', '=', caller.accountId).selectAll();
    if (filter.scope) base = base.where('scope', '=', filter.scope);
    const rows = await base.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(base), items: rows.map(tokenView) };
  }

  async revokeToken(caller: Caller, id: string): Promise<TokenView> {
    this.access.requireFullScope(caller);
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).where('account_id', '=', caller.accountId).executeTakeFirst();
    if (!row) throw notFound('Token', id);
    const revoked_at = row.revoked_at ?? nowIso();
    await this.db.updateTable('api_tokens').set({ revoked_at }).where('id', '=', id).execute();
    return tokenView({ ...row, revoked_at });
  }

  async createSubaccount(caller: Caller, input: NewAccount): Promise<AccountView> {
    if (caller.parentId) throw forbidden('A sub-account cannot have sub-accounts of its own; ask its parent account.');
    // A sub-account starts with its parent's language and time zone.
    const parent = await this.access.account(caller, caller.accountId);
    return this.create({ language: parent.language, timezone: parent.timezone, ...input }, { parentId: caller.accountId, isAdmin: false });
  }

  /** The caller's own language (of its mails) and time zone (its policies' default); nothing else changes. */
  async setPreferences(caller: Caller, input: { language?: Language; timezone?: string }): Promise<AccountView> {
    const row = await this.access.account(caller, caller.accountId);
    if (input.language === undefined && input.timezone === undefined) throw badRequest('Give a language or a time zone to change.', 'language');
    const set = { ...(input.language ? { language: input.language } : {}), ...(input.timezone !== undefined ? { timezone: checkTimezone(input.timezone) } : {}) };
    await this.db.updateTable('accounts').set(set).where('id', '=', row.id).execute();
    return accountView({ ...row, ...set });
  }

  async listSubaccounts(caller: Caller, page: PageRequest): Promise<Page<AccountView>> {
    const base = this.db.selectFrom('accounts').where('parent_id', '=', caller.accountId).selectAll();
    const rows = await base.orderBy('created_at').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(base), items: rows.map(accountView) };
  }

  async setSubaccountStatus(caller: Caller, id: string, status: 'active' | 'disabled'): Promise<AccountView> {
    const sub = await this.access.subaccount(caller, id);
    await this.setStatus(sub.id, status);
    return accountView({ ...sub, status });
  }

  async deleteSubaccount(caller: Caller, id: string): Promise<void> {
    const sub = await this.access.subaccount(caller, id);
    await this.db.deleteFrom('accounts').where('id', '=', sub.id).execute();
  }

  /** Finds an account by registered email or by ID, as the share dialog names recipients. */
  async lookup(caller: Caller, query: string): Promise<AccountRef> {
    const q = query.trim().toLowerCase();
    const row = await this.db
      .selectFrom('accounts')
      .select(['id', 'email', 'status'])
      .where(isId('account', q) ? 'id' : 'email', '=', q)
      .executeTakeFirst();
    if (!row || row.status !== 'active') throw notFound('Account', query);
    void caller;
    return { id: row.id, email: row.email };
  }

  async listAll(caller: Caller, page: PageRequest): Promise<Page<AccountView>> {
    this.access.requireAdmin(caller);
    const base = this.db.selectFrom('accounts').selectAll();
    const rows = await base.orderBy('created_at').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(base), items: rows.map(accountView) };
  }

  async adminSetStatus(caller: Caller, id: string, status: 'active' | 'disabled'): Promise<AccountView> {
    this.access.requireAdmin(caller);
    if (id === caller.accountId) throw badRequest('An administrator cannot disable its own account.', 'id');
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Account', id);
    await this.setStatus(id, status);
    return accountView({ ...row, status });
  }

  private async setStatus(id: string, status: 'active' | 'disabled'): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('accounts').set({ status }).where('id', '=', id).execute();
      // A disabled account is signed out everywhere at once.
      if (status === 'disabled') await tx.deleteFrom('sessions').where('account_id', '=', id).execute();
    });
  }
}
