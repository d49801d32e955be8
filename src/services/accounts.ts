import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import type { AccountTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, conflict, forbidden, notFound, unauthorized } from '../domain/errors.js';
import { isId, newId } from '../domain/ids.js';
import { type Page, type PageRequest } from '../domain/page.js';
import { checkName, checkPassword, EMAIL_RE, normalizeEmail } from '../domain/rules.js';
import { isoPlus, nowIso } from '../domain/time.js';
import type { Access } from './access.js';
import { LOOKUP, SIGN_IN, SIGN_UP, Throttle } from './login-throttle.js';
import { hashPassword, hashSecret, newSecret, verifyPassword } from './passwords.js';
import type { AccountLookupView, AccountView, Language, NewTokenView, TokenScope, TokenView } from '../contract/index.js';
import { isUniqueViolation } from '../db/engine-errors.js';
import { checkTimezone } from '../domain/schedule.js';

/** A valid scrypt hash of a random password: what an unknown email is checked against. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$mW2Zrx2iHgVu1B3zVfOq5JQNuJ1lRpwbo9XGbGd3b0w=';

export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** How long an address an account signed in from stays known to it (and exempt from the account's own limit). */
export const KNOWN_ADDRESS_MS = 90 * 24 * 3600 * 1000;

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
  private readonly signIns: Throttle;
  private readonly signUps: Throttle;
  private readonly lookups: Throttle;

  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly options: AccountsOptions,
  ) {
    this.signIns = new Throttle(db, SIGN_IN);
    this.signUps = new Throttle(db, SIGN_UP);
    this.lookups = new Throttle(db, LOOKUP);
  }

  /**
   * Open sign-up, slowed down per address (`address`: the client's); when
   * registration is closed only an administrator creates accounts, and is not slowed.
   */
  async register(input: NewAccount, by?: Caller, address?: string): Promise<AccountView> {
    if (!this.options.openRegistration && !by?.isAdmin)
      throw forbidden('Registration is closed on this server; ask an administrator for an account.');
    // Bad input is refused before it counts; what is well-formed counts, taken or not.
    normalizeEmail(input.email);
    checkPassword(input.password);
    if (!by?.isAdmin && address !== undefined) await this.signUps.begin([`signup:${address}`], undefined, 'Too many new accounts from this address');
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
    // Failures count against the address, the account and the pair of them. From an
    // address the account has signed in from before, only the pair's own failures
    // slow it down: a guesser elsewhere cannot keep the owner out.
    const pair = `pair:${email}|${address}`;
    const keys = [`addr:${address}`, `email:${email}`, pair];
    const known = await this.db
      .selectFrom('known_addresses')
      .innerJoin('accounts', 'accounts.id', 'known_addresses.account_id')
      .select('known_addresses.account_id')
      .where('accounts.email', '=', email)
      .where('known_addresses.address', '=', address)
      .where('known_addresses.last_ok_at', '>', isoPlus(nowIso(), -KNOWN_ADDRESS_MS))
      .executeTakeFirst();
    // Counted as a failure until the password checks out, so parallel guesses cannot all slip past the limit.
    await this.signIns.begin(keys, known ? [pair] : keys, 'Too many failed sign-ins');
    const row = await this.db.selectFrom('accounts').selectAll().where('email', '=', email).executeTakeFirst();
    // An unknown email costs the same hash as a known one, so timing does not tell which emails exist.
    const ok = await verifyPassword(input.password, row?.password_hash ?? DUMMY_HASH);
    if (!row || !ok) throw unauthorized('The email or the password is wrong.');
    if (row.status !== 'active') throw forbidden('This account is disabled; ask its parent account or an administrator.');
    // This pair's failures were the owner's own typos; the address's failures against
    // other accounts, and the account's from other addresses, still count.
    await this.signIns.forgetAll(pair);
    const okAt = nowIso();
    await this.db
      .insertInto('known_addresses')
      .values({ account_id: row.id, address, last_ok_at: okAt })
      .onConflict((oc) => oc.columns(['account_id', 'address']).doUpdateSet({ last_ok_at: okAt }))
      .execute();
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

  /**
   * Finds an active account by its exact email or ID, as the share dialog names
   * recipients, and no more: lookups are rate-limited per caller, and the email
   * is told only to a caller that typed it or already knows it (a share either
   * way, or its own sub-account); by ID, anyone else learns the ID exists, not whose it is.
   */
  async lookup(caller: Caller, query: string): Promise<AccountLookupView> {
    const q = query.trim().toLowerCase();
    const byId = isId('account', q);
    if (!byId && !EMAIL_RE.test(q)) throw badRequest('Look an account up by its exact email or its ID (usr-…).', 'q');
    await this.lookups.begin([`lookup:${caller.accountId}`], undefined, 'Too many account lookups');
    const row = await this.db
      .selectFrom('accounts')
      .select(['id', 'email', 'status', 'parent_id'])
      .where(byId ? 'id' : 'email', '=', q)
      .executeTakeFirst();
    if (!row || row.status !== 'active') throw notFound('Account', query);
    const knows = !byId || row.id === caller.accountId || row.parent_id === caller.accountId || (await this.shareBetween(caller.accountId, row.id));
    return { id: row.id, email: knows ? row.email : null };
  }

  /** Whether either account shares a chain with the other (now, or once: the email was shown then). */
  private async shareBetween(a: string, b: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('shares')
      .select('chain_id')
      .where((e) => e.or([e.and([e('owner_id', '=', a), e('recipient_id', '=', b)]), e.and([e('owner_id', '=', b), e('recipient_id', '=', a)])]))
      .executeTakeFirst();
    return row !== undefined;
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
