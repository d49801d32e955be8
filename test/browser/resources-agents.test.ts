// Resources, agents and the first-run page in a real browser (Debian's chromium through
// playwright-core) against a real `cairn serve`. A new tenant signs in, lands on the
// first-run page, creates a volume, adds an agent — the console makes a token scoped to
// agent work and shows the command — then the test runs exactly that command (a real
// `cairn agent` reading a real disk image), the page sees the agent come online by itself,
// and "Backup now" ends in the tenant's first backup. Then the Resources page (create an
// instance with its disks, rename it, what deleting says about chains) and the Agents page
// (online, version, what it hosts, the add-agent dialog, revoking the token, which takes the
// agent offline). Once in Chinese and once in English at 1280 px, and each page again at
// 390 px; screenshots under test-artifacts/screenshots/resources-agents/.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Cli, fillRandom, makeRawDisk, type CliProcess } from '../helpers/cli.js';
import { filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { assertLabelled, assertNoSidewaysScroll, browserSkipReason, CHROMIUM, CHROMIUM_ARGS, eventually, expectGone, expectText, screenshots, WAIT_MS, watchErrors } from '../helpers/browser.js';
import { expectStatus, PASSWORD, randomEmail, signIn as apiSignIn, type TestAccount } from '../helpers/http.js';
import { ROOT, runCli, startServer, type TestServer } from '../helpers/server.js';
import { existsSync, readFileSync } from 'node:fs';

type Lang = 'zh-CN' | 'en';
const GiB = 1024 ** 3;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What a person reads on screen, per language: the test checks the words, not the dictionary. */
const L = {
  'zh-CN': {
    locale: 'zh-CN',
    signIn: '登录',
    register: '注册',
    rollback: '回滚',
    rollbackDone: '完成：资源',
    email: '邮箱',
    password: '密码',
    mainMenu: '主菜单',
    start: '快速开始',
    backups: '备份数据',
    resources: '资源',
    agents: '代理',
    createResource: '创建资源',
    name: '名称',
    instanceKind: '主机：一块系统盘和若干数据盘',
    diskSize: (n: number) => `硬盘 ${n} 的容量（GiB）`,
    diskName: (n: number) => `硬盘 ${n} 的名称`,
    addDisk: '添加数据盘',
    ok: '确定',
    addAgent: '添加代理',
    agentName: '代理名称（例如主机名）',
    pathOf: (disk: string, id: string) => `${id} 的 ${disk} 在该机器上的路径`,
    make: '生成密钥和命令',
    command: '在该机器上运行的命令',
    close: '关闭',
    waiting: '正在等待',
    online: '在线',
    offline: '离线',
    backupNow: '立即备份',
    startBackup: '开始备份',
    firstDone: '第一次备份已完成',
    rename: '重命名',
    save: '保存',
    delete: '删除',
    cancel: '取消',
    chainsStay: '1 条备份链及其所有备份点都会保留',
    noBackups: '它没有备份。',
    revoke: '吊销密钥',
    revokeTitle: '吊销代理密钥',
    revoked: '已吊销',
    system: '系统盘',
  },
  en: {
    locale: 'en-US',
    signIn: 'Sign in',
    register: 'Register',
    rollback: 'Roll back',
    rollbackDone: 'Done: resource',
    email: 'Email',
    password: 'Password',
    mainMenu: 'Main menu',
    start: 'Get started',
    backups: 'Backup data',
    resources: 'Resources',
    agents: 'Agents',
    createResource: 'Create resource',
    name: 'Name',
    instanceKind: 'Instance: a system disk and data disks',
    diskSize: (n: number) => `Size of disk ${n} (GiB)`,
    diskName: (n: number) => `Name of disk ${n}`,
    addDisk: 'Add a data disk',
    ok: 'OK',
    addAgent: 'Add an agent',
    agentName: 'Agent name (e.g. the host name)',
    pathOf: (disk: string, id: string) => `Path of ${disk} of ${id} on that machine`,
    make: 'Make token and command',
    command: 'Command to run on the machine',
    close: 'Close',
    waiting: 'Waiting for an agent',
    online: 'Online',
    offline: 'Offline',
    backupNow: 'Backup now',
    startBackup: 'Start backup',
    firstDone: 'Your first backup is done',
    rename: 'Rename',
    save: 'Save',
    delete: 'Delete',
    cancel: 'Cancel',
    chainsStay: 'Its 1 backup chain stays, with all its points',
    noBackups: 'It has no backups.',
    revoke: 'Revoke token',
    revokeTitle: 'Revoke agent token',
    revoked: 'Revoked',
    system: 'system disk',
  },
} as const;
type Labels = (typeof L)[Lang];

const shots = screenshots('resources-agents');

/** Splits the command the console shows into the environment it sets and cairn's arguments, as a POSIX shell would for these plain words. */
function parseCommand(command: string): { env: Record<string, string>; args: string[] } {
  const words = [...command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!));
  const env: Record<string, string> = {};
  while (words[0] && /^[A-Z_]+=/.test(words[0])) {
    const w = words.shift()!;
    env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  }
  assert.equal(words.shift(), 'cairn', `the command runs cairn: ${command}`);
  return { env, args: words };
}

async function stopAgent(agent: CliProcess | null): Promise<void> {
  if (!agent) return;
  const force = setTimeout(() => agent.child.kill('SIGKILL'), 5_000);
  try {
    await agent.kill('SIGTERM');
  } finally {
    clearTimeout(force);
  }
}

interface Tenant {
  account: TestAccount;
  volume: string;
  agentName: string;
}

describe('resources, agents and the first-run page in a real browser', () => {
  let dir = '';
  let server: TestServer | null = null;
  let browser: Browser | null = null;
  const tenants = new Map<Lang, Tenant>();
  const agents: CliProcess[] = [];
  const it = (name: string, fn: (t: TestContext) => Promise<void>) => test(name, (t) => (browserSkipReason ? t.skip(browserSkipReason) : fn(t)));

  before(
    async () => {
      if (browserSkipReason) return;
      assert.ok(existsSync(join(ROOT, 'web', 'dist', 'index.html')), 'web/dist is not built: run `npm run build`');
      shots.reset();
      dir = await makeTempDir('cairn-browser-ra-');
      [server, browser] = await Promise.all([startServer(), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })]);
    },
    { timeout: 120_000 },
  );

  after(
    async () => {
      for (const a of agents) await stopAgent(a);
      await browser?.close();
      await server?.stop();
      if (dir) await removeTempDir(dir);
    },
    { timeout: 30_000 },
  );

  async function newPage(lang: Lang, width: number): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
    const ctx = await browser!.newContext({ locale: L[lang].locale, viewport: { width, height: width < 600 ? 844 : 860 } });
    ctx.setDefaultTimeout(WAIT_MS);
    const page = await ctx.newPage();
    const errors: string[] = [];
    watchErrors(page, errors);
    return { ctx, page, errors };
  }

  async function signIn(page: Page, l: Labels, email: string, lands: string): Promise<void> {
    await page.goto(`${server!.url}/`);
    await page.getByLabel(l.email, { exact: true }).fill(email);
    await page.getByLabel(l.password, { exact: true }).fill(PASSWORD);
    await page.locator('form').getByRole('button', { name: l.signIn, exact: true }).click();
    await expectText(page.getByRole('heading', { level: 1 }), lands, `${email} lands on the ${lands} page`);
  }

  async function go(page: Page, l: Labels, label: string): Promise<void> {
    await page.getByRole('navigation', { name: l.mainMenu }).getByRole('link', { name: label, exact: true }).click();
    await expectText(page.getByRole('heading', { level: 1 }), label, `the ${label} page opens`);
  }

  /** Sign-in to a first backup, then resources and agents, at 1280 px. */
  async function walk(lang: Lang): Promise<void> {
    const l = L[lang];
    const tag = lang === 'en' ? 'en' : 'zh';
    const email = randomEmail(`first-run-${tag}`);
    const disk = await makeRawDisk(join(dir, `${tag}-disk0.img`), 1 * GiB, 6 << 20, `first-run-${tag}`);
    const { ctx, page, errors } = await newPage(lang, 1280);
    let agent: CliProcess | null = null;
    try {
      // A new tenant signs up in the browser, signs in, and starts on the first-run page.
      await page.goto(`${server!.url}/`);
      await page.locator('main').getByRole('button', { name: l.register, exact: true }).click();
      await expectText(page.getByRole('heading', { level: 1 }), l.register);
      await page.getByLabel(l.email, { exact: true }).fill(email);
      await page.getByLabel(l.password, { exact: true }).fill(PASSWORD);
      await page.locator('form').getByRole('button', { name: l.register, exact: true }).click();
      await expectText(page.getByRole('status').filter({ hasText: email }), email, 'the sign-up is confirmed');
      await shots.shot(page, lang, 'signed-up');
      await signIn(page, l, email, l.start);
      // The test's own look at what the tenant made, through the API.
      const account = await apiSignIn(server!.url, email, PASSWORD);
      await assertLabelled(page, 'first-run page');
      await shots.shot(page, lang, 'first-run');

      // 1. A volume of 1 GiB, the size of the disk the agent will read.
      await page.getByRole('button', { name: l.createResource, exact: true }).click();
      let dialog = page.getByRole('dialog', { name: l.createResource });
      await dialog.getByLabel(l.name, { exact: true }).fill(`web-${tag}`);
      await dialog.getByLabel(l.diskSize(1), { exact: true }).fill('1');
      await assertLabelled(page, 'create resource dialog');
      await shots.shot(page, lang, 'create-resource-dialog', false);
      await dialog.getByRole('button', { name: l.ok, exact: true }).click();
      await expectGone(page.getByRole('dialog'), 'the create dialog closes');
      const volume: string = expectStatus(await account.api.get('/resources'), 200).items[0].id;
      assert.match(volume, /^vol-/);
      await expectText(page.locator('main'), volume, 'step 1 shows the new volume');

      // 2. Add an agent: a token made on the spot, in the command to run.
      const agentName = `host-${tag}`;
      await page.getByRole('button', { name: l.addAgent, exact: true }).click();
      dialog = page.getByRole('dialog', { name: l.addAgent });
      await dialog.getByLabel(l.agentName, { exact: true }).fill(agentName);
      await dialog.getByLabel(l.pathOf('disk0', volume), { exact: true }).fill(disk);
      await assertLabelled(page, 'add agent dialog');
      await dialog.getByRole('button', { name: l.make, exact: true }).click();
      const command = await eventually('the dialog shows the command', () => dialog.getByLabel(l.command, { exact: true }).inputValue(), (v) => v.includes('cairn agent'));
      await shots.shot(page, lang, 'add-agent-command', false);
      const { env, args } = parseCommand(command);
      assert.match(env.CAIRN_TOKEN ?? '', /^cairn_/, 'the token is in the environment, not in the argument list');
      assert.deepEqual(args, ['agent', '--server', new URL(server!.url).origin, '--name', agentName, '--map', `${volume}:${disk}`]);
      const tokens = expectStatus(await account.api.get('/tokens', { scope: 'agent' }), 200);
      assert.equal(tokens.total_count, 1, 'one agent token was made');
      assert.equal(tokens.items[0].scope, 'agent');
      await dialog.getByRole('button', { name: l.close, exact: true }).last().click();
      await expectGone(page.getByRole('dialog'), 'the add-agent dialog closes');
      await expectText(page.getByTestId('start-command'), `--name ${agentName}`, 'the command stays on the page while the agent starts');
      await expectText(page.locator('main'), l.waiting, 'step 3 waits for the agent');

      // 3. The command, run as given (on "the machine": here), brings the agent online; the page sees it live.
      const cli = new Cli(server!.url, join(dir, `${tag}-config.json`));
      cli.token = env.CAIRN_TOKEN;
      agent = cli.spawn([...args, '--poll-ms', '300'], { json: false });
      agents.push(agent);
      await agent.waitFor(new RegExp(`hosting ${volume}`));
      await expectText(page.locator('main'), `${agentName}`, 'the agent is named on the page');
      await expectText(page.getByRole('status').filter({ hasText: agentName }), l.online, 'the page shows the agent online without a reload', 20_000);
      await shots.shot(page, lang, 'agent-online');

      // 4. Backup now, through that agent, with its job's progress, to the first backup.
      await page.getByRole('button', { name: l.backupNow, exact: true }).click();
      dialog = page.getByRole('dialog', { name: l.backupNow });
      await dialog.getByRole('button', { name: l.startBackup, exact: true }).click();
      // The dialog follows the job to its end; the page behind it marks the first backup done.
      await expectText(page.locator('main'), l.firstDone, 'the first backup is done, seen on the page', 60_000);
      await dialog.getByRole('button', { name: l.close, exact: true }).first().click();
      await expectGone(page.getByRole('dialog'), 'the backup-now dialog closes');
      const chains = expectStatus(await account.api.get('/chains'), 200);
      assert.equal(chains.total_count, 1);
      assert.equal(chains.items[0].resource_id, volume);
      await eventually('the job\'s progress reaches 100 %', () => page.getByRole('progressbar').first().getAttribute('value'), (v) => v === '100');
      assert.match(agent.stdout(), /made point ss-/, 'the agent made the point');
      await assertLabelled(page, 'first-run page, done');
      await shots.shot(page, lang, 'first-backup-done');

      // 5. Roll back to that first point from the browser: the disk, scribbled over, is the point again.
      const point = chains.items[0].id as string;
      await fillRandom(disk, 2 << 20, 8 << 20, `first-run-${tag}-scribble`);
      await page.goto(`${server!.url}/backups/${point}`);
      const rb = page.locator(`tr[data-row-id="${point}"]`).getByRole('button', { name: l.rollback, exact: true });
      await eventually('roll back is offered with the agent online', () => rb.isEnabled(), (x) => x);
      await rb.click();
      const rdialog = page.getByRole('dialog');
      await expectText(rdialog, point, 'the rollback dialog names the point');
      await rdialog.getByRole('button', { name: l.rollback, exact: true }).click();
      await expectText(rdialog.locator('.jp-result'), l.rollbackDone, 'the rollback ends, seen in its dialog', 60_000);
      await shots.shot(page, lang, 'rollback-done', false);
      await page.keyboard.press('Escape');
      const copy = join(dir, `${tag}-restored.img`);
      const restored = await runCli(['restore', point, '--to', copy, '--quiet'], { env: { CAIRN_SERVER: server!.url, CAIRN_TOKEN: account.token }, timeoutMs: 120_000 });
      assert.equal(restored.code, 0, `cairn restore failed: ${restored.stderr}`);
      assert.ok(await filesEqual(disk, copy), 'after the rollback the disk holds the point\'s data');

      // Resources: the volume with its agent online; an instance with its disks; rename; what delete says.
      await go(page, l, l.resources);
      const volRow = page.locator(`tr[data-row-id="${volume}"]`);
      await expectText(volRow, agentName);
      await expectText(volRow, l.online);
      await page.getByRole('button', { name: l.createResource, exact: true }).click();
      dialog = page.getByRole('dialog', { name: l.createResource });
      await dialog.getByLabel(l.instanceKind, { exact: true }).check();
      await dialog.getByLabel(l.name, { exact: true }).fill(`db-${tag}`);
      await dialog.getByRole('button', { name: l.addDisk, exact: true }).click();
      await dialog.getByLabel(l.diskName(3), { exact: true }).fill('logs');
      await dialog.getByLabel(l.diskSize(3), { exact: true }).fill('5');
      await shots.shot(page, lang, 'create-instance-dialog', false);
      await dialog.getByRole('button', { name: l.ok, exact: true }).click();
      await expectGone(page.getByRole('dialog'), 'the create dialog closes');
      const instance = expectStatus(await account.api.get('/resources', { kind: 'instance' }), 200).items[0];
      assert.deepEqual(
        instance.disks.map((d: { name: string; size: number; role: string }) => [d.name, d.size / GiB, d.role]),
        [
          ['root', 20, 'system'],
          ['data', 50, 'data'],
          ['logs', 5, 'data'],
        ],
      );
      const instRow = page.locator(`tr[data-row-id="${instance.id}"]`);
      await expectText(instRow, l.system);
      await instRow.getByRole('button', { name: `${l.rename} ${instance.id}`, exact: true }).click();
      dialog = page.getByRole('dialog');
      await dialog.getByLabel(l.name, { exact: true }).fill(`db-main-${tag}`);
      await dialog.getByRole('button', { name: l.save, exact: true }).click();
      await expectText(instRow, `db-main-${tag}`, 'the renamed instance shows its new name');
      await volRow.getByRole('button', { name: `${l.delete} ${volume}`, exact: true }).click();
      dialog = page.getByRole('dialog');
      await expectText(dialog, l.chainsStay, 'deleting the volume says its chain stays');
      await shots.shot(page, lang, 'delete-volume-dialog', false);
      await dialog.getByRole('button', { name: l.cancel, exact: true }).click();
      await instRow.getByRole('button', { name: `${l.delete} ${instance.id}`, exact: true }).click();
      dialog = page.getByRole('dialog');
      await expectText(dialog, l.noBackups);
      await dialog.getByRole('button', { name: l.delete, exact: true }).click();
      await expectGone(instRow, 'the deleted instance leaves the list');
      assert.equal(expectStatus(await account.api.get('/resources'), 200).total_count, 1);
      await assertLabelled(page, 'resources page');
      await shots.shot(page, lang, 'resources');

      // Agents: online, its version, what it hosts, the token it came with.
      await go(page, l, l.agents);
      const agentRow = page.locator('main tbody tr').filter({ hasText: agentName }).first();
      await expectText(agentRow, l.online);
      await expectText(agentRow, VERSION, 'the agent\'s version');
      await expectText(agentRow, volume, 'what it hosts');
      await expectText(agentRow, `agent ${agentName}`, 'the token it came with');
      await assertLabelled(page, 'agents page');
      await shots.shot(page, lang, 'agents');
      // Another agent's command, from this page: a second token.
      await page.getByRole('button', { name: l.addAgent, exact: true }).first().click();
      dialog = page.getByRole('dialog', { name: l.addAgent });
      await dialog.getByLabel(l.agentName, { exact: true }).fill(`spare-${tag}`);
      await shots.shot(page, lang, 'add-agent-dialog', false);
      await dialog.getByRole('button', { name: l.make, exact: true }).click();
      const second = await eventually('the second command', () => dialog.getByLabel(l.command, { exact: true }).inputValue(), (v) => v.includes('cairn agent'));
      assert.match(second, new RegExp(`^CAIRN_TOKEN=cairn_\\S+ cairn agent --server \\S+ --name spare-${tag} --map ${volume}:/dev/vdb$`));
      assert.notEqual(parseCommand(second).env.CAIRN_TOKEN, env.CAIRN_TOKEN, 'each agent gets a token of its own');
      await page.keyboard.press('Escape');
      await expectGone(page.getByRole('dialog'), 'Escape closes the dialog');
      // Revoking the running agent's token: refused at once, offline within 30 s, on this page without a reload.
      await agentRow.getByRole('button', { name: `${l.revoke} agent ${agentName}`, exact: true }).click();
      dialog = page.getByRole('dialog', { name: l.revokeTitle });
      await expectText(dialog, agentName, 'the dialog names the agent that stops');
      await shots.shot(page, lang, 'revoke-agent-token', false);
      await dialog.getByRole('button', { name: l.revoke, exact: true }).click();
      await expectGone(page.getByRole('dialog'), 'the revoke dialog closes');
      await expectText(agentRow, l.revoked);
      await agent.waitFor(/poll failed/, 10_000);
      await expectText(agentRow, l.offline, 'the agent shows offline once it stops calling in', 45_000);
      await shots.shot(page, lang, 'agent-revoked-offline');
      assert.deepEqual(errors, [], 'no script errors in the pages');
      tenants.set(lang, { account, volume, agentName });
    } finally {
      await stopAgent(agent);
      await ctx.close();
    }
  }

  /** The same pages and dialogs at a phone's width: everything reachable, nothing scrolls sideways. */
  async function narrow(lang: Lang): Promise<void> {
    const l = L[lang];
    const tenant = tenants.get(lang);
    assert.ok(tenant, 'the walk at 1280 px ran first');
    const { ctx, page, errors } = await newPage(lang, 390);
    try {
      // With a resource and a backup, the tenant starts at backup data.
      await signIn(page, l, tenant.account.email, l.backups);
      for (const [path, heading, name] of [
        ['/start', l.start, 'first-run'],
        ['/resources', l.resources, 'resources'],
        ['/agents', l.agents, 'agents'],
      ] as const) {
        await page.goto(`${server!.url}${path}`);
        await expectText(page.getByRole('heading', { level: 1 }), heading);
        await page.locator('main table, main ol').first().waitFor();
        await assertNoSidewaysScroll(page, `${path} at 390 px`);
        await shots.shot(page, `${lang}-390`, name);
      }
      await page.getByRole('button', { name: l.addAgent, exact: true }).first().click();
      const dialog = page.getByRole('dialog', { name: l.addAgent });
      await dialog.getByLabel(l.agentName, { exact: true }).fill('phone');
      await dialog.getByRole('button', { name: l.make, exact: true }).click();
      await eventually('the command', () => dialog.getByLabel(l.command, { exact: true }).inputValue(), (v) => v.includes('cairn agent'));
      await assertNoSidewaysScroll(page, 'add-agent dialog at 390 px');
      await shots.shot(page, `${lang}-390`, 'add-agent-command', false);
      await page.keyboard.press('Escape');
      await page.goto(`${server!.url}/resources`);
      await page.getByRole('button', { name: l.createResource, exact: true }).click();
      await page.getByRole('dialog', { name: l.createResource }).getByLabel(l.instanceKind, { exact: true }).check();
      await assertNoSidewaysScroll(page, 'create-resource dialog at 390 px');
      await shots.shot(page, `${lang}-390`, 'create-resource-dialog', false);
      assert.deepEqual(errors, [], 'no script errors in the pages');
    } finally {
      await ctx.close();
    }
  }

  it('first run in Chinese: a new tenant goes from nothing to a first backup through an agent it adds; resources and agents pages', () => walk('zh-CN'));
  it('first run in English: a new tenant goes from nothing to a first backup through an agent it adds; resources and agents pages', () => walk('en'));
  it('the same pages and dialogs at 390 px, in Chinese', () => narrow('zh-CN'));
  it('the same pages and dialogs at 390 px, in English', () => narrow('en'));
});
