import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, chmod, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { configPath, DEFAULT_SERVER, readConfig, resolveClient, resolveServer, resolveSettings, warnIfExposed, writeConfig } from '../../src/cli/config-file.js';

const posix = process.platform !== 'win32';
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-cli-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('configPath', () => {
  it('prefers CAIRN_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    assert.equal(configPath({ CAIRN_CONFIG: '/x/c.json', XDG_CONFIG_HOME: '/xdg', HOME: '/home/a' }), '/x/c.json');
    assert.equal(configPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/home/a' }), join('/xdg', 'cairn', 'config.json'));
    assert.equal(configPath({ HOME: '/home/a' }), join('/home/a', '.config', 'cairn', 'config.json'));
    assert.equal(configPath({ XDG_CONFIG_HOME: '', HOME: '/home/a' }), join('/home/a', '.config', 'cairn', 'config.json'));
  });
});

describe('writeConfig and readConfig', () => {
  it('creates the file 0600 in a new directory 0700, and reads it back', { skip: !posix }, async () => {
    const path = join(dir, 'new', 'nested', 'config.json');
    const config = { server: 'http://127.0.0.1:8080', token: 'cairn_secret', token_id: 'tok-aaaaaaaa', email: 'a@example.com', account_id: 'usr-aaaaaaaa' };
    await writeConfig(config, path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'new', 'nested'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'new'))).mode & 0o777, 0o700);
    assert.deepEqual(await readConfig(path), config);
  });

  it('tightens a config that was readable by others when it rewrites it, leaving no temporary file', { skip: !posix }, async () => {
    const sub = join(dir, 'loose');
    const path = join(sub, 'config.json');
    await writeConfig({ server: 'http://a:1' }, path);
    await chmod(path, 0o644);
    await writeConfig({ server: 'http://a:1', token: 't' }, path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(sub), ['config.json']);
  });

  it('keeps 0600 even under a permissive umask', { skip: !posix }, async () => {
    const old = process.umask(0);
    try {
      const path = join(dir, 'umask', 'config.json');
      await writeConfig({ token: 't' }, path);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
    } finally {
      process.umask(old);
    }
  });

  it('reads a missing file as an empty config', async () => {
    assert.deepEqual(await readConfig(join(dir, 'absent.json')), {});
  });

  it('keeps only the known string fields', async () => {
    const path = join(dir, 'extra.json');
    await writeFile(path, JSON.stringify({ server: 'http://s:1', token: 7, email: '', other: 'x' }));
    assert.deepEqual(await readConfig(path), { server: 'http://s:1' });
  });

  it('says which file is broken and how to recover', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{nope');
    await assert.rejects(readConfig(path), (err: unknown) => err instanceof CairnError && err.message.includes(path) && /cairn login/.test(err.message));
    await writeFile(path, '[1]');
    await assert.rejects(readConfig(path), /must hold a JSON object/);
  });

  it('warns when a config holding a token is readable by others', { skip: !posix }, async () => {
    const path = join(dir, 'exposed.json');
    await writeFile(path, '{}', { mode: 0o644 });
    await chmod(path, 0o644);
    const warnings: string[] = [];
    await warnIfExposed(path, { token: 't' }, (m) => warnings.push(m));
    await warnIfExposed(path, {}, (m) => warnings.push(m));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /chmod 600/);
    await chmod(path, 0o600);
    await warnIfExposed(path, { token: 't' }, (m) => warnings.push(m));
    assert.equal(warnings.length, 1);
  });
});

describe('resolveSettings', () => {
  const config = { server: 'http://stored:8080', token: 'stored-token' };

  it('takes the server from flag, then environment, then config, then the default', () => {
    assert.equal(resolveSettings({ server: 'http://flag:1' }, { CAIRN_SERVER: 'http://env:1' }, config).server, 'http://flag:1');
    assert.equal(resolveSettings({}, { CAIRN_SERVER: 'http://env:1' }, config).server, 'http://env:1');
    assert.equal(resolveSettings({}, {}, config).server, 'http://stored:8080');
    assert.deepEqual(resolveSettings({}, {}, {}), { server: DEFAULT_SERVER, serverSource: 'default' });
  });

  it('takes the token from flag, then environment, then config', () => {
    assert.equal(resolveSettings({ token: 'f' }, { CAIRN_TOKEN: 'e' }, config).tokenSource, 'flag');
    assert.equal(resolveSettings({}, { CAIRN_TOKEN: 'e' }, config).token, 'e');
    const s = resolveSettings({}, {}, config);
    assert.equal(s.token, 'stored-token');
    assert.equal(s.tokenSource, 'config');
  });

  it('never sends the stored token to another server', () => {
    assert.equal(resolveSettings({ server: 'http://elsewhere:8080' }, {}, config).token, undefined);
    assert.equal(resolveSettings({}, { CAIRN_SERVER: 'http://elsewhere:8080' }, config).token, undefined);
    // The same server, written differently, is still the same server.
    assert.equal(resolveSettings({ server: 'http://STORED:8080/' }, {}, config).token, 'stored-token');
    // A token given explicitly goes wherever the user says.
    assert.equal(resolveSettings({ server: 'http://elsewhere:8080', token: 'f' }, {}, config).token, 'f');
  });

  it('normalises the server URL and refuses non-HTTP ones', () => {
    assert.equal(resolveSettings({ server: 'https://cairn.example.com/' }, {}, {}).server, 'https://cairn.example.com');
    assert.equal(resolveSettings({ server: 'http://h:1/prefix/' }, {}, {}).server, 'http://h:1/prefix');
    assert.throws(() => resolveSettings({ server: 'cairn.example.com' }, {}, {}), /is not a server URL/);
    assert.throws(() => resolveSettings({ server: 'ftp://h' }, {}, {}), /must start with http/);
  });
});

describe('resolveClient', () => {
  it('says "not logged in" (401) when a command needs a token and none is found', async () => {
    const configFile = join(dir, 'none.json');
    await assert.rejects(resolveClient({}, { env: {}, configFile }), (err: unknown) => {
      assert.ok(err instanceof CairnError);
      assert.equal(err.status, 401);
      assert.match(err.message, /^not logged in to http:\/\/127\.0\.0\.1:8080: run `cairn login`/);
      return true;
    });
    const client = await resolveClient({}, { env: {}, configFile, requireToken: false });
    assert.equal(client.token, undefined);
    assert.equal(client.server, DEFAULT_SERVER);
  });

  it('points at the login to run when the stored one is for another server', async () => {
    const configFile = join(dir, 'other.json');
    await writeConfig({ server: 'https://stored:8080', token: 't' }, configFile);
    await assert.rejects(resolveClient({ server: 'https://new:9' }, { env: {}, configFile }), /stored login is for https:\/\/stored:8080\): run `cairn login --server https:\/\/new:9`/);
    const client = await resolveClient({}, { env: {}, configFile });
    assert.equal(client.token, 't');
    assert.equal(await resolveServer({}, { env: { CAIRN_SERVER: 'https://env:2' }, configFile }), 'https://env:2');
  });

  it('reads the file that writeConfig wrote', async () => {
    const configFile = join(dir, 'roundtrip.json');
    await writeConfig({ server: 'https://s:1', token: 'abc' }, configFile);
    assert.equal(JSON.parse(await readFile(configFile, 'utf8')).token, 'abc');
    assert.equal((await resolveClient({}, { env: {}, configFile })).token, 'abc');
  });
});
