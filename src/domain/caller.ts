/** Who is asking: resolved once per request by the API, passed to every service call. */
export interface Caller {
  accountId: string;
  email: string;
  isAdmin: boolean;
  parentId: string | null;
  /** How the caller proved who it is; agents and the CLI use tokens, the browser a session. */
  via: 'session' | 'token' | 'access_key' | 'local';
}
