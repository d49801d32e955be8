/** Who is asking: resolved once per request by the API, passed to every service call. */
export interface Caller {
  accountId: string;
  email: string;
  isAdmin: boolean;
  parentId: string | null;
  /** How the caller proved who it is; agents and the CLI use tokens, the browser a session. */
  via: 'session' | 'token' | 'access_key' | 'local';
  /**
   * 'agent' for a token made for `cairn agent`: it may call only the routes an agent needs
   * (src/api/auth.ts) and reads only its own account's backups (src/services/access.ts).
   * Absent: all the account may do.
   */
  scope?: 'agent';
  /** The API token the caller came with, when it came with one. */
  tokenId?: string;
}
