/** A signed-in account of the benchmark, talking to the server over HTTP (keep-alive, as the console and CLI do). */
export class MetaClient {
  private constructor(
    readonly base: string,
    readonly accountId: string,
    readonly email: string,
    private readonly token: string,
  ) {}

  /** Signs in with the password, as the console does, and makes an API token, as `cairn login` does. */
  static async signIn(base: string, email: string, password: string): Promise<MetaClient> {
    const login = await fetch(`${base}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    if (!login.ok) throw new Error(`Signing in as ${email} failed: ${login.status} ${await login.text()}`);
    const session = /cairn_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
    const { account, csrf_token } = (await login.json()) as { account: { id: string }; csrf_token: string };
    if (!session) throw new Error(`Signing in as ${email} set no session cookie.`);
    const made = await fetch(`${base}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `cairn_session=${session}`, 'x-csrf-token': csrf_token },
      body: JSON.stringify({ name: 'metadata-bench' }),
    });
    if (!made.ok) throw new Error(`Making a token for ${email} failed: ${made.status} ${await made.text()}`);
    const { token } = (await made.json()) as { token: { token: string } };
    return new MetaClient(base, account.id, email, token.token);
  }

  /** A request with a binary body (a chunk blob); its status and text, whatever they are. */
  async send(method: string, path: string, body: Buffer): Promise<{ status: number; text: string }> {
    const res = await fetch(`${this.base}${path}`, { method, headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/octet-stream' }, body });
    return { status: res.status, text: await res.text() };
  }

  /** The JSON answer of one request; anything but the expected status is an error naming the request. */
  async call<T>(method: string, path: string, body?: unknown, expect = method === 'POST' ? [200, 201] : [200]): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!expect.includes(res.status)) throw new Error(`${method} ${path} as ${this.email}: ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}
