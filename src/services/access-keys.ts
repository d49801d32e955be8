import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import type { AccessKeyTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { conflict, notFound } from '../domain/errors.js';
import { randomChars } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { checkName } from '../domain/rules.js';
import { isoPlus, nowIso } from '../domain/time.js';
import { sealSecret, unsealSecret } from './secret-seal.js';
import type { MasterKeys } from '../store/master-key.js';
import type { AccessKeyStatus, AccessKeyView, NewAccessKeyView } from '../contract/index.js';

/** QingCloud's shapes: a 20-character ID of uppercase letters and digits, a 40-character secret. */
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const ACCESS_KEY_ID_PATTERN = '^[A-Z0-9]{20}$';
/** QingCloud allows a handful of keys per account; a few more do no harm, thousands would be a leak nobody watches. */
export const MAX_ACCESS_KEYS = 20;

const view = (k: AccessKeyTable): AccessKeyView => ({ access_key_id: k.id, name: k.name, status: k.status, created_at: k.created_at, last_used_at: k.last_used_at });

/**
 * API keys (API 密钥) of QingCloud's action API. Unlike tokens, whose hash is
 * enough to recognise them, a key's secret must be read back to recompute a
 * request's signature, so it is stored sealed (secret-seal.ts), never hashed.
 */
export class AccessKeysService {
  constructor(
    private readonly db: Db,
    /** Secrets are sealed under these (secret-seal.ts); null: kept behind `plain:`. */
    private readonly keys: MasterKeys | null = null,
  ) {}

  async create(caller: Caller, name = 'API key'): Promise<NewAccessKeyView> {
    const have = await countRows(this.db.selectFrom('access_keys').select('id').where('account_id', '=', caller.accountId));
    if (have >= MAX_ACCESS_KEYS) throw conflict(`An account can have at most ${MAX_ACCESS_KEYS} access keys; delete one you no longer use first.`, 'too_many_access_keys');
    const secret = randomChars(SECRET_ALPHABET, 40);
    const id = randomChars(ID_ALPHABET, 20);
    const row: AccessKeyTable = {
      id,
      account_id: caller.accountId,
      name: checkName(name),
      secret_sealed: sealSecret(secret, this.keys, `access key ${id}`),
      status: 'active',
      created_at: nowIso(),
      last_used_at: null,
    };
    await this.db.insertInto('access_keys').values(row).execute();
    return { ...view(row), secret_access_key: secret };
  }

  async list(caller: Caller, page: PageRequest): Promise<Page<AccessKeyView>> {
    const base = this.db.selectFrom('access_keys').where('account_id', '=', caller.accountId).selectAll();
    const rows = await base.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(base), items: rows.map(view) };
  }

  async setStatus(caller: Caller, id: string, status: AccessKeyStatus): Promise<AccessKeyView> {
    const row = await this.own(caller, id);
    await this.db.updateTable('access_keys').set({ status }).where('id', '=', id).execute();
    return view({ ...row, status });
  }

  async delete(caller: Caller, id: string): Promise<void> {
    await this.own(caller, id);
    await this.db.deleteFrom('access_keys').where('id', '=', id).execute();
  }

  /**
   * Who holds an access key and its secret, to check a request's signature; null
   * for a key that is unknown, disabled, or of a disabled account.
   */
  async forSignature(id: string): Promise<{ caller: Caller; secret: string } | null> {
    const row = await this.db
      .selectFrom('access_keys')
      .innerJoin('accounts', 'accounts.id', 'access_keys.account_id')
      .select(['access_keys.secret_sealed', 'access_keys.status as key_status', 'access_keys.last_used_at', 'accounts.id', 'accounts.email', 'accounts.is_admin', 'accounts.parent_id', 'accounts.status'])
      .where('access_keys.id', '=', id)
      .executeTakeFirst();
    if (!row || row.key_status !== 'active' || row.status !== 'active') return null;
    return {
      caller: { accountId: row.id, email: row.email, isAdmin: row.is_admin === 1, parentId: row.parent_id, via: 'access_key' },
      secret: unsealSecret(row.secret_sealed, this.keys, `access key ${id}`),
    };
  }

  /** Called once a signature checked out; a minute's precision is enough to spot stale keys (as for tokens). */
  async touch(id: string): Promise<void> {
    const now = nowIso();
    await this.db
      .updateTable('access_keys')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', isoPlus(now, -60_000))]))
      .execute();
  }

  private async own(caller: Caller, id: string): Promise<AccessKeyTable> {
    const row = await this.db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.account_id !== caller.accountId) throw notFound('Access key', id);
    return row;
  }
}
