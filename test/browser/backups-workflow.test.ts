// The backup-data workflow in a real browser (Debian's chromium through playwright-core)
// against a real `cairn serve`: chains grouped under their resources, row checkboxes
// with bulk share / cancel sharing / delete (each row's outcome reported), the
// keyboard-operable "more" menu, Backup now and Roll back through a real `cairn agent`
// with the job's progress seen moving in the dialog, the fixes found in the browser
// walk, and an axe-core check of every page. In both languages, at 1280 px and at
// 390 px; screenshots under test-artifacts/screenshots/workflow-*.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { fillRandom, makeRawDisk, MiB, type CliProcess, Cli } from '../helpers/cli.js';
import { assertKeyboardStops, assertNoAxeViolations, browserSkipReason, CHROMIUM, CHROMIUM_ARGS, eventually, expectText, haveChromium, SCREENSHOTS, WAIT_MS, watchErrors } from '../helpers/browser.js';
import { filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectStatus, newAccount, PASSWORD, type Json, type TestAccount } from '../helpers/http.js';
import { ROOT, runCli, startServer, type TestServer } from '../helpers/server.js';

// Page functions run in the browser; the root tsconfig has no DOM types.
declare const document: { activeElement: unknown; documentElement: { scrollWidth: number } };
declare const window: { innerWidth: number; innerHeight: number; getComputedStyle(el: unknown): { whiteSpace: string } };

type Lang = 'zh-CN' | 'en';

/** What a person reads, per language. */
const L = {
  'zh-CN': {
    locale: 'zh-CN',
    signIn: '登录',
    email: '邮箱',
    password: '密码',
    backups: '备份数据',
    more: '更多操作',
    share: '共享',
    cancelShare: '取消共享',
    makeImage: '制作新镜像',
    delete: '删除',
    backupNow: '立即备份',
    startBackup: '开始备份',
    full: '全量备份（新建备份链）',
    rollback: '回滚',
    ok: '确定',
    close: '关闭',
    add: '添加',
    accounts: '账户',
    bulkShare: '批量共享',
    bulkCancel: '批量取消共享',
    bulkDelete: '批量删除',
    selectResource: (name: string) => `选择 ${name} 的全部备份链`,
    select: (name: string) => `选择 ${name}`,
    summary: (ok: number, total: number, failed: number) => `共 ${total} 项：${ok} 项成功，${failed} 项失败。`,
    alreadyShared: '此备份链已共享给该账户。',
    sharedWith: (n: number) => `已共享给 ${n} 个账户`,
    notShared: '未共享',
    pick: '请至少选择一个账户。',
    self: '不能共享给自己。',
    backupDone: '完成：已生成备份点',
    rollbackDone: '完成：资源',
    pointsHeader: 'ID/备份点名称',
    imagesHeader: 'ID/镜像名称',
    gone: '已删除此备份链，它已不可用',
    markAllRead: '全部标为已读',
    unread: '未读',
    saved: '已保存。',
    edit: '修改',
    save: '保存',
    language: /语言/,
    cancelledYou: '取消了对您共享备份链',
  },
  en: {
    locale: 'en-US',
    signIn: 'Sign in',
    email: 'Email',
    password: 'Password',
    backups: 'Backup data',
    more: 'More',
    share: 'Share',
    cancelShare: 'Cancel sharing',
    makeImage: 'Make new image',
    delete: 'Delete',
    backupNow: 'Backup now',
    startBackup: 'Start backup',
    full: 'Full (starts a new chain)',
    rollback: 'Roll back',
    ok: 'OK',
    close: 'Close',
    add: 'Add',
    accounts: 'Accounts',
    bulkShare: 'Share selected',
    bulkCancel: 'Cancel sharing of selected',
    bulkDelete: 'Delete selected',
    selectResource: (name: string) => `Select the chains of ${name}`,
    select: (name: string) => `Select ${name}`,
    summary: (ok: number, total: number, failed: number) => `${ok} of ${total} done, ${failed} failed.`,
    alreadyShared: 'This chain is already shared with this account.',
    sharedWith: (n: number) => `Shared with ${n} account${n === 1 ? '' : 's'}`,
    notShared: 'Not shared',
    pick: 'Choose at least one account.',
    self: 'You cannot share a chain with yourself.',
    backupDone: 'Done: point',
    rollbackDone: 'Done: resource',
    pointsHeader: 'ID / Point name',
    imagesHeader: 'ID / Image name',
    gone: 'deleted this chain: it is no longer available',
    markAllRead: 'Mark all read',
    unread: 'Unread',
    saved: 'Saved.',
    edit: 'Edit',
    save: 'Save',
    language: /Language/,
    cancelledYou: 'cancelled sharing chain',
  },
} as const;
type Labels = (typeof L)[Lang];

interface Variant {
  lang: Lang;
  width: number;
  height: number;
}
const WIDE = { width: 1280, height: 860 };
const NARROW = { width: 390, height: 844 };

// ---------------------------------------------------------------------------

let dir = '';
let server: TestServer | null = null;
let browser: Browser | null = null;

async function cli(token: string, args: string[]): Promise<Json> {
  const r = await runCli(['--json', ...args], { env: { CAIRN_SERVER: server!.url, CAIRN_TOKEN: token }, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `cairn ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function volume(owner: TestAccount, name: string, size: number): Promise<string> {
  return expectStatus(await owner.api.post('/resources', { kind: 'volume', name, disks: [{ name: 'disk0', size }] }), 201, 'create a volume').resource.id;
}

async function context(v: Variant): Promise<BrowserContext> {
  const ctx = await browser!.newContext({ locale: L[v.lang].locale, viewport: { width: v.width, height: v.height }, acceptDownloads: false });
  ctx.setDefaultTimeout(WAIT_MS);
  return ctx;
}

async function signIn(page: Page, l: Labels, email: string): Promise<void> {
  await page.goto(`${server!.url}/backups`);
  await page.getByLabel(l.email, { exact: true }).fill(email);
  await page.getByLabel(l.password, { exact: true }).fill(PASSWORD);
  await page.locator('form').getByRole('button', { name: l.signIn, exact: true }).click();
  await expectText(page.getByRole('heading', { level: 1 }), l.backups);
}

const row = (page: Page, id: string) => page.locator(`tr[data-row-id="${id}"]`);

async function shot(page: Page, v: Variant, name: string, fullPage = true): Promise<void> {
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SCREENSHOTS, `workflow-${v.lang}-${v.width}-${name}.png`), fullPage, animations: 'disabled' });
}

/** A picture of the page where a walk failed, for the person reading the failure. */
async function failed(v: Variant, walk: string, page: Page): Promise<void> {
  if (!page.isClosed()) await page.screenshot({ path: join(SCREENSHOTS, `workflow-FAILED-${walk}-${v.lang}-${v.width}.png`), fullPage: true }).catch(() => undefined);
}

/** The page fits its width: nothing makes the reader scroll sideways (tables scroll inside their own box). */
async function assertNoSideScroll(page: Page, where: string): Promise<void> {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= inner + 1, `${where}: the page is ${scroll} px wide in a ${inner} px window`);
}

const variantName = (v: Variant) => `${v.lang} at ${v.width} px`;

describe('backup data workflow in a real browser', () => {
  const it = (name: string, fn: () => Promise<void>) => test(name, { timeout: 240_000 }, (t) => (browserSkipReason ? t.skip(browserSkipReason) : fn()));

  before(
    async () => {
      if (browserSkipReason) return;
      assert.ok(haveChromium, `${CHROMIUM} is missing: .ci/run must apt-get install -y chromium`);
      assert.ok(existsSync(join(ROOT, 'web', 'dist', 'index.html')), 'web/dist is not built: run `npm run build`');
      mkdirSync(SCREENSHOTS, { recursive: true });
      // Pictures of an earlier run would pass for this one's (only this file's).
      for (const f of readdirSync(SCREENSHOTS)) if (f.startsWith('workflow-')) rmSync(join(SCREENSHOTS, f), { force: true });
      dir = await makeTempDir('cairn-workflow-');
      server = await startServer();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      await browser?.close();
      await server?.stop();
      if (dir) await removeTempDir(dir);
    },
    { timeout: 30_000 },
  );

  for (const v of [{ lang: 'zh-CN' as const, ...WIDE }, { lang: 'en' as const, ...NARROW }]) {
    it(`bulk share, bulk cancel sharing, bulk delete and the "more" menu (${variantName(v)})`, () => bulkWalk(v));
  }
  for (const v of [{ lang: 'en' as const, ...WIDE }, { lang: 'zh-CN' as const, ...NARROW }]) {
    it(`backup now and roll back through an agent, with live progress (${variantName(v)})`, () => agentWalk(v));
  }
  for (const v of [{ lang: 'zh-CN' as const, ...NARROW }, { lang: 'en' as const, ...WIDE }]) {
    it(`the fixes from the browser walk, and axe on every page (${variantName(v)})`, () => fixesWalk(v));
  }
});

// ---------------------------------------------------------------------------
// Bulk actions and the "more" menu.

async function bulkWalk(v: Variant): Promise<void> {
  const l = L[v.lang];
  const tag = `${v.lang.toLowerCase()}-${v.width}`;
  const owner = await newAccount(server!.url, { tag: `bulk-owner-${tag}` });
  const recipient = await newAccount(server!.url, { tag: `bulk-recipient-${tag}` });
  // Two volumes: "web" with two chains, "db" with one.
  const web = await volume(owner, `web-${tag}`, 8 * MiB);
  const db = await volume(owner, `db-${tag}`, 8 * MiB);
  const disk = await makeRawDisk(join(dir, `bulk-${tag}.img`), 8 * MiB, 2 * MiB, tag);
  const webA = (await cli(owner.token, ['backup', web, '--disk', disk, '--full', '--name', `web-a-${tag}`, '--quiet'])).point.id as string;
  const webB = (await cli(owner.token, ['backup', web, '--disk', disk, '--full', '--name', `web-b-${tag}`, '--quiet'])).point.id as string;
  const dbA = (await cli(owner.token, ['backup', db, '--disk', disk, '--full', '--name', `db-a-${tag}`, '--quiet'])).point.id as string;

  const ctx = await context(v);
  const page = await ctx.newPage();
  const errors: string[] = [];
  watchErrors(page, errors);
  try {
    await signIn(page, l, owner.email);
    // Grouped as QingCloud's list: each resource's heading row, then its chains in the same row group.
    for (const [res, chains] of [
      [web, [webA, webB]],
      [db, [dbA]],
    ] as const) {
      const group = page.locator(`tbody[data-group-id="${res}"]`);
      await expectText(group.locator('tr.group-row'), res, `the heading row of ${res}`);
      for (const c of chains) assert.equal(await group.locator(`tr[data-row-id="${c}"]`).count(), 1, `${c} sits under ${res}`);
    }
    await assertNoAxeViolations(page, `backup data (${variantName(v)})`);
    await assertNoSideScroll(page, 'backup data');
    await shot(page, v, 'backup-data-grouped');

    // The "more" menu, by keyboard: Enter opens it on its first item, arrows move, Escape closes it and gives focus back.
    const more = row(page, webA).getByRole('button', { name: l.more, exact: true });
    await more.focus();
    await page.keyboard.press('Enter');
    const menu = page.getByRole('menu');
    await menu.waitFor();
    assert.equal(await more.getAttribute('aria-expanded'), 'true');
    const items = menu.getByRole('menuitem');
    assert.deepEqual((await items.allInnerTexts()).map((s) => s.trim()), [l.backupNow, l.cancelShare, l.makeImage, l.delete]);
    const focused = () => page.evaluate(() => (document.activeElement as { textContent?: string } | null)?.textContent ?? '');
    assert.equal(await focused(), l.backupNow, 'focus is on the first item');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focused(), l.cancelShare);
    await page.keyboard.press('End');
    assert.equal(await focused(), l.delete);
    await page.keyboard.press('ArrowDown');
    assert.equal(await focused(), l.backupNow, 'the arrows wrap around');
    assert.equal(await items.first().getAttribute('aria-disabled'), 'true', 'backup now waits for an online agent');
    await assertNoAxeViolations(page, 'the more menu, open');
    await shot(page, v, 'more-menu', false);
    await page.keyboard.press('Escape');
    await eventually('Escape closes the menu', () => menu.count(), (n) => n === 0);
    assert.ok(await more.evaluate((el) => el === document.activeElement), 'focus returns to the More button');
    // Enter on an item does it: "Make image" opens its dialog.
    await page.keyboard.press('ArrowDown');
    await menu.waitFor();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const imageDialog = page.getByRole('dialog', { name: l.makeImage });
    await imageDialog.waitFor();
    await page.keyboard.press('Escape');
    await eventually('the make-image dialog closes', () => page.getByRole('dialog').count(), (n) => n === 0);

    // Bulk share of web's two chains: its heading's checkbox selects both.
    await page.getByRole('checkbox', { name: l.selectResource(`web-${tag}`), exact: true }).check();
    await page.getByRole('button', { name: l.bulkShare, exact: true }).click();
    let dialog = page.getByRole('dialog');
    await dialog.getByRole('textbox', { name: l.accounts, exact: true }).fill(recipient.email);
    await dialog.getByRole('button', { name: l.add, exact: true }).click();
    await assertNoAxeViolations(page, 'bulk share dialog');
    await shot(page, v, 'bulk-share-dialog', false);
    await dialog.getByRole('button', { name: l.ok, exact: true }).click();
    await expectText(dialog, l.summary(2, 2, 0), 'both chains are shared');
    await shot(page, v, 'bulk-share-result', false);
    await dialog.getByRole('button', { name: l.close, exact: true }).last().click();
    await expectText(row(page, webA), l.sharedWith(1));
    await expectText(row(page, webB), l.sharedWith(1));

    // Now all three: the two already shared fail, each saying why; db's chain is shared.
    await page.getByRole('checkbox', { name: l.select(`db-a-${tag}`), exact: true }).check();
    await page.getByRole('button', { name: l.bulkShare, exact: true }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByRole('textbox', { name: l.accounts, exact: true }).fill(recipient.email);
    await dialog.getByRole('button', { name: l.add, exact: true }).click();
    await dialog.getByRole('button', { name: l.ok, exact: true }).click();
    await expectText(dialog, l.summary(1, 3, 2), 'one of three shared, two refused');
    for (const c of [webA, webB]) await expectText(dialog.locator(`li[data-result-id="${c}"]`), l.alreadyShared, `${c} says why it failed`);
    assert.equal(await dialog.locator(`li[data-result-id="${dbA}"]`).getAttribute('data-ok'), 'true');
    await shot(page, v, 'bulk-share-partial-failure', false);
    await page.keyboard.press('Escape');
    await expectText(row(page, dbA), l.sharedWith(1));
    const shared = expectStatus(await recipient.api.get('/shared', { limit: 100 }), 200).items.map((c: Json) => c.id).sort();
    assert.deepEqual(shared, [webA, webB, dbA].sort(), 'the recipient holds the three chains');

    // Bulk cancel sharing for web's two chains; the "pick one" error goes away once an account is ticked.
    await page.getByRole('checkbox', { name: l.select(`db-a-${tag}`), exact: true }).uncheck();
    await page.getByRole('button', { name: l.bulkCancel, exact: true }).click();
    dialog = page.getByRole('dialog');
    await expectText(dialog, recipient.email);
    await dialog.getByRole('button', { name: l.ok, exact: true }).click();
    await expectText(dialog.getByRole('alert'), l.pick);
    await dialog.locator(`li[data-recipient="${recipient.email}"]`).getByRole('checkbox').check();
    await eventually('the error is gone once an account is ticked', () => dialog.getByText(l.pick).count(), (n) => n === 0);
    await assertNoAxeViolations(page, 'bulk cancel-sharing dialog');
    await shot(page, v, 'bulk-cancel-share-dialog', false);
    await dialog.getByRole('button', { name: l.ok, exact: true }).click();
    await expectText(dialog, l.summary(2, 2, 0));
    await page.keyboard.press('Escape');
    await expectText(row(page, webA), l.notShared);
    await expectText(row(page, webB), l.notShared);

    // Bulk delete: webB and dbA (still shared) go to the recycle bin; webA stays.
    await page.getByRole('checkbox', { name: l.select(`web-a-${tag}`), exact: true }).uncheck();
    await page.getByRole('checkbox', { name: l.select(`db-a-${tag}`), exact: true }).check();
    await page.getByRole('button', { name: l.bulkDelete, exact: true }).click();
    dialog = page.getByRole('dialog');
    await expectText(dialog, webB);
    await expectText(dialog, dbA);
    await assertNoAxeViolations(page, 'bulk delete dialog');
    await shot(page, v, 'bulk-delete-dialog', false);
    await dialog.getByRole('button', { name: l.delete, exact: true }).click();
    await expectText(dialog, l.summary(2, 2, 0));
    await shot(page, v, 'bulk-delete-result', false);
    await page.keyboard.press('Escape');
    await eventually('the deleted chains leave the list', () => page.locator(`tr[data-row-id="${webB}"], tr[data-row-id="${dbA}"]`).count(), (n) => n === 0);
    await expectText(row(page, webA), `web-a-${tag}`);
    for (const c of [webB, dbA]) assert.equal(expectStatus(await owner.api.get(`/chains/${c}`), 200).chain.status, 'deleted');
    assert.equal(expectStatus(await owner.api.get(`/chains/${webA}`), 200).chain.status, 'available');
    await shot(page, v, 'backup-data-after-bulk');
    assert.deepEqual(errors, [], 'no script errors');
  } catch (err) {
    await failed(v, 'bulk', page);
    throw err;
  } finally {
    await ctx.close();
  }
}

// ---------------------------------------------------------------------------
// Backup now and roll back through a real agent, progress seen moving.

// Big enough that the job runs for seconds on a fast machine (256 MiB took about a second here), so the
// dialog's once-a-second poll sees the bytes move; the file is sparse outside the data.
const DISK_SIZE = 832 * MiB;
const DATA = 768 * MiB;

/** Watches the dialog's job until its result shows; returns the distinct byte counts seen while it ran. */
/**
 * Follows the job in the dialog until its result shows. Once a first amount of bytes is
 * shown, the agent is paused (SIGSTOP) for a moment: however fast this machine backs up,
 * the dialog is seen, and photographed, in the middle of the job, with its rate and time
 * left; then the agent goes on and the dialog must move on from there to the end.
 */
async function watchProgress(dialog: Locator, agentPid: number, onMoving: () => Promise<void>, timeout = 150_000): Promise<{ seen: number[]; rateSeen: boolean; leftSeen: boolean }> {
  const seen: number[] = [];
  let rateSeen = false;
  let leftSeen = false;
  const end = Date.now() + timeout;
  const progress = dialog.locator('.job-progress');
  const look = async () => {
    const rate = (await dialog.locator('.jp-rate').innerText().catch(() => '—')).trim();
    const left = (await dialog.locator('.jp-left').innerText().catch(() => '—')).trim();
    if (/\/s$/.test(rate)) rateSeen = true;
    if (/\d/.test(left)) leftSeen = true;
  };
  while (Date.now() < end) {
    if ((await dialog.locator('.jp-result').count()) > 0) return { seen, rateSeen, leftSeen };
    if ((await progress.count()) > 0) {
      const bytes = Number((await progress.getAttribute('data-bytes-done').catch(() => '0')) ?? '0');
      if (bytes > 0 && !seen.includes(bytes) && (await dialog.locator('.jp-result').count()) === 0) {
        seen.push(bytes);
        if (seen.length === 1) {
          process.kill(agentPid, 'SIGSTOP');
          try {
            // Two of the console's polls: the paused amount, its rate and time left are on screen.
            await new Promise((r) => setTimeout(r, 2_200));
            await look();
            await onMoving();
          } finally {
            process.kill(agentPid, 'SIGCONT');
          }
        }
      }
      await look();
    }
    await new Promise((r) => setTimeout(r, 120));
  }
  assert.fail(`the job did not end within ${timeout} ms; bytes seen: ${seen.join(', ')}`);
}

async function agentWalk(v: Variant): Promise<void> {
  const l = L[v.lang];
  const tag = `agent-${v.lang.toLowerCase()}-${v.width}`;
  const owner = await newAccount(server!.url, { tag });
  const vol = await volume(owner, `vm-${tag}`, DISK_SIZE);
  // A first chain from the CLI while the disk is nearly empty; then the data the browser's backup must carry.
  const disk = await makeRawDisk(join(dir, `${tag}.img`), DISK_SIZE, 4 * MiB, `${tag}-0`);
  const first = (await cli(owner.token, ['backup', vol, '--disk', disk, '--full', '--name', `first-${tag}`, '--quiet'])).point.id as string;
  await fillRandom(disk, 8 * MiB, DATA, `${tag}-1`);

  const cliUser = new Cli(server!.url, join(dir, `${tag}.json`));
  cliUser.token = owner.token;
  const agent: CliProcess = cliUser.spawn(['agent', '--name', `host-${tag}`, '--map', `${vol}:${disk}`, '--poll-ms', '300'], { json: false });
  const ctx = await context(v);
  const page = await ctx.newPage();
  const errors: string[] = [];
  watchErrors(page, errors);
  try {
    await agent.waitFor(/hosting/);
    await signIn(page, l, owner.email);
    const group = row(page, vol);
    await expectText(group, `host-${tag}`);
    const btn = group.getByRole('button', { name: l.backupNow, exact: true });
    await eventually('backup now is offered once the agent is online', () => btn.isEnabled(), (x) => x, 20_000);
    await btn.click();
    const dialog = page.getByRole('dialog', { name: l.backupNow });
    await dialog.waitFor();
    await assertNoAxeViolations(page, 'backup now dialog');
    await shot(page, v, 'backup-now-confirm', false);
    await dialog.getByRole('button', { name: l.startBackup, exact: true }).click();
    await dialog.locator('.job-progress').waitFor();
    await assertNoAxeViolations(page, 'backup now progress');
    const backup = await watchProgress(dialog, agent.pid, () => shot(page, v, 'backup-now-progress', false));
    assert.ok(backup.seen.length >= 1, 'the dialog showed the backup part-way, before its result');
    assert.ok(backup.rateSeen, 'a rate was shown while the backup ran');
    assert.ok(backup.leftSeen, 'a time left was shown while the backup ran');
    await expectText(dialog.locator('.jp-result'), l.backupDone);
    await shot(page, v, 'backup-now-done', false);
    const jobs = expectStatus(await owner.api.get('/jobs', { resource_id: vol, limit: 10 }), 200).items as Json[];
    const job = jobs.find((j) => j.action === 'backup' && j.runner !== 'client')!;
    assert.equal(job.status, 'successful');
    assert.equal(job.bytes_done, job.bytes_total);
    assert.ok(backup.seen[0]! < (job.bytes_total as number), `progress moved from ${backup.seen[0]} of ${job.bytes_total} bytes to the end`);
    const head = (job.result as Json).point_id as string;
    assert.equal((job.result as Json).chain_id, first, 'an incremental point on the CLI\'s chain');
    await page.keyboard.press('Escape');
    await expectText(row(page, first).locator('td.col-points'), '2', 'the list shows the new point');

    // Scribble over the data, then roll back to the new point: the agent writes it back, live.
    await fillRandom(disk, 8 * MiB, DATA, `${tag}-2`);
    await row(page, first).getByRole('link').first().click();
    await expectText(page.locator('main table').nth(1).locator('thead'), l.pointsHeader, 'the points table names its own column');
    const rb = row(page, head).getByRole('button', { name: l.rollback, exact: true });
    await eventually('roll back is offered with the agent online', () => rb.isEnabled(), (x) => x);
    await rb.click();
    const rdialog = page.getByRole('dialog');
    await expectText(rdialog, head);
    await assertNoAxeViolations(page, 'rollback confirmation');
    await shot(page, v, 'rollback-confirm', false);
    await rdialog.getByRole('button', { name: l.rollback, exact: true }).click();
    await rdialog.locator('.job-progress').waitFor();
    const rollback = await watchProgress(rdialog, agent.pid, () => shot(page, v, 'rollback-progress', false));
    assert.ok(rollback.seen.length >= 1, 'the dialog showed the rollback part-way, before its result');
    const rollbackJob = (expectStatus(await owner.api.get('/jobs', { resource_id: vol, limit: 10 }), 200).items as Json[]).find((j) => j.action === 'rollback')!;
    assert.equal(rollbackJob.status, 'successful');
    assert.ok(rollback.seen[0]! < (rollbackJob.bytes_total as number), `rollback progress moved from ${rollback.seen[0]} of ${rollbackJob.bytes_total} bytes to the end`);
    await expectText(rdialog.locator('.jp-result'), l.rollbackDone);
    await shot(page, v, 'rollback-done', false);
    await page.keyboard.press('Escape');
    // The disk is the point again, byte for byte: restore it with the CLI and compare.
    const copy = join(dir, `${tag}-restored.img`);
    await cli(owner.token, ['restore', head, '--to', copy, '--quiet']);
    assert.ok(await filesEqual(disk, copy), 'after the rollback the disk holds the point\'s data');
    assert.deepEqual(errors, [], 'no script errors');
  } catch (err) {
    await failed(v, 'agent', page);
    throw err;
  } finally {
    await ctx.close();
    const force = setTimeout(() => agent.child.kill('SIGKILL'), 5_000);
    await agent.kill('SIGTERM');
    clearTimeout(force);
  }
}

// ---------------------------------------------------------------------------
// The fixes found in the browser walk, and axe on every page.

async function fixesWalk(v: Variant): Promise<void> {
  const l = L[v.lang];
  const tag = `fix-${v.lang.toLowerCase()}-${v.width}`;
  const owner = await newAccount(server!.url, { tag: `${tag}-owner` });
  const recipient = await newAccount(server!.url, { tag: `${tag}-recipient` });
  const vol = await volume(owner, `files-${tag}`, 8 * MiB);
  const disk = await makeRawDisk(join(dir, `${tag}.img`), 8 * MiB, 1 * MiB, tag);
  const kept = (await cli(owner.token, ['backup', vol, '--disk', disk, '--full', '--name', `kept-${tag}`, '--quiet'])).point.id as string;
  const doomed = (await cli(owner.token, ['backup', vol, '--disk', disk, '--full', '--name', `doomed-${tag}`, '--quiet'])).point.id as string;
  for (const c of [kept, doomed]) expectStatus(await owner.api.post(`/chains/${c}/shares`, { recipients: [recipient.email] }), 201, 'share');
  // An image from a full point: the point's ID is the chain's.
  const image = expectStatus(await recipient.api.post('/images', { point_id: kept, disk: 'disk0', name: `img-${tag}` }), 201, 'make image').image.id as string;
  expectStatus(await owner.api.post(`/chains/${kept}/shares/cancel`, { recipients: [recipient.id] }), 200, 'cancel');
  expectStatus(await owner.api.delete(`/chains/${doomed}`), 200, 'delete the chain');

  const ownerCtx = await context(v);
  const recipientCtx = await context(v);
  const op = await ownerCtx.newPage();
  const rp = await recipientCtx.newPage();
  const errors: string[] = [];
  watchErrors(op, errors);
  watchErrors(rp, errors);
  try {
    await signIn(op, l, owner.email);
    await signIn(rp, l, recipient.email);

    // The recipient's page of a chain its owner deleted says so: no make-image, no empty box, no 0 B.
    await rp.goto(`${server!.url}/shared/${doomed}`);
    await expectText(rp.locator('main'), l.gone, 'the page says the chain was deleted');
    assert.equal(await rp.getByRole('button', { name: l.makeImage, exact: true }).count(), 0, 'no make-image on a deleted chain');
    assert.equal(await rp.locator('main table').count(), 1, 'no points table, only the activity');
    assert.ok(!(await rp.locator('dl.attrs').innerText()).includes('0 B'), 'no 0 B for a chain that is gone');
    await assertNoAxeViolations(rp, 'shared chain deleted by its owner');
    await shot(rp, v, 'shared-chain-gone');

    // Images: their own header, and the source names a full point once.
    await rp.goto(`${server!.url}/images`);
    await expectText(rp.locator('main thead'), l.imagesHeader);
    const imgRow = row(rp, image);
    const source = await expectText(imgRow.locator('td.col-source'), kept);
    assert.ok(!source.includes(`${kept} · ${kept}`), `the chain and point are the same and named once: ${source}`);
    assert.ok(source.includes(`${kept} · disk0`), source);
    // IDs never break at the hyphen, in any language or width.
    const idCode = imgRow.locator('code.id');
    assert.equal(await idCode.evaluate((el) => window.getComputedStyle(el).whiteSpace), 'nowrap');
    const box = await idCode.boundingBox();
    const lineHeight = await idCode.evaluate((el) => (el as unknown as { getClientRects(): { length: number } }).getClientRects().length);
    assert.equal(lineHeight, 1, `the image ID ${image} is on one line (${JSON.stringify(box)})`);
    await shot(rp, v, 'images-source');

    // Events: "您" without spaces around it (zh); notifications: mark all read.
    await rp.goto(`${server!.url}/activity`);
    const notes = rp.locator('.card').first();
    await expectText(notes, l.unread);
    const text = await expectText(rp.locator('main'), l.cancelledYou);
    if (v.lang === 'zh-CN') assert.ok(!/ 您|您 /.test(text), `no spaces around 您: ${text.split('\n').find((s) => s.includes('您'))}`);
    await assertNoAxeViolations(rp, 'activity');
    await notes.getByRole('button', { name: l.markAllRead, exact: true }).click();
    await eventually('every notification is read', () => notes.getByText(l.unread, { exact: true }).count(), (n) => n === 0);
    assert.equal(expectStatus(await recipient.api.get('/notifications', { limit: 1 }), 200).unread_count, 0);
    assert.ok(await notes.getByRole('button', { name: l.markAllRead, exact: true }).isDisabled(), 'nothing left to mark');
    await shot(rp, v, 'activity-all-read');

    // The share dialog: oneself is refused at once; with 14 recipients the buttons stay in view.
    await op.goto(`${server!.url}/backups`);
    await row(op, kept).getByRole('button', { name: l.share, exact: true }).click();
    const dialog = op.getByRole('dialog');
    const input = dialog.getByRole('textbox', { name: l.accounts, exact: true });
    await input.fill(owner.email);
    await dialog.getByRole('button', { name: l.add, exact: true }).click();
    await expectText(dialog.locator(`li[data-recipient="${owner.email}"]`), l.self, 'sharing with oneself is refused at once');
    await input.fill(Array.from({ length: 14 }, (_, i) => `someone-${i}-${tag}@example.test`).join(', '));
    await dialog.getByRole('button', { name: l.add, exact: true }).click();
    await eventually('15 recipients listed', () => dialog.locator('li[data-recipient]').count(), (n) => n === 15);
    const ok = dialog.getByRole('button', { name: l.ok, exact: true });
    const okBox = await ok.boundingBox();
    const viewport = op.viewportSize()!;
    assert.ok(okBox && okBox.y >= 0 && okBox.y + okBox.height <= viewport.height, `the OK button is in view (${JSON.stringify(okBox)} in ${viewport.height} px)`);
    await assertNoAxeViolations(op, 'share dialog with many recipients');
    await shot(op, v, 'share-dialog-many', false);
    await op.keyboard.press('Escape');

    // Toasts follow a language switch: saved in one language, read in the other.
    await row(op, kept).getByRole('link').first().click();
    await expectText(op.locator('main table').nth(1).locator('thead'), l.pointsHeader, 'the points table has its own header');
    await op.locator('.card').first().getByRole('button', { name: l.edit, exact: true }).click();
    await op.getByRole('dialog').getByRole('button', { name: l.save, exact: true }).click();
    await expectText(op.locator('.toasts'), l.saved);
    const other = v.lang === 'en' ? 'zh-CN' : 'en';
    const menuToggle = op.getByRole('button', { name: v.lang === 'en' ? 'Menu' : '菜单', exact: true });
    if (await menuToggle.isVisible()) await menuToggle.click();
    await op.getByRole('combobox', { name: l.language }).selectOption(other);
    await expectText(op.locator('.toasts'), L[other].saved, 'the toast reads in the new language');
    await shot(op, v, 'toast-after-switch', false);
    await op.getByRole('combobox', { name: L[other].language }).selectOption(v.lang);

    // axe on every page of the console, as owner and as recipient.
    const pages = [
      ['backups', '/backups'],
      ['chain', `/backups/${kept}`],
      ['shared', '/shared'],
      ['recycle-bin', '/recycle-bin'],
      ['images', '/images'],
      ['files', `/files/points/${kept}`],
      ['jobs', '/jobs'],
      ['tasks', '/tasks'],
      ['policies', '/policies'],
      ['activity', '/activity'],
      ['subaccounts', '/subaccounts'],
      ['tokens', '/tokens'],
    ] as const;
    for (const [name, path] of pages) {
      await op.goto(`${server!.url}${path}`);
      await op.locator('main h1').waitFor();
      await op.waitForLoadState('networkidle');
      await assertNoAxeViolations(op, `${path} (${variantName(v)})`);
      await assertNoSideScroll(op, path);
      await assertKeyboardStops(op, `${path} (${variantName(v)})`);
      await shot(op, v, `page-${name}`);
    }
    await rp.goto(`${server!.url}/shared`);
    await rp.locator('main h1').waitFor();
    await assertNoAxeViolations(rp, `recipient's shared list (${variantName(v)})`);
    const anon = await (await context(v)).newPage();
    await anon.goto(`${server!.url}/backups`);
    await anon.getByLabel(l.email, { exact: true }).waitFor();
    await assertNoAxeViolations(anon, 'sign-in page');
    await anon.context().close();
    assert.deepEqual(errors, [], 'no script errors');
  } catch (err) {
    await failed(v, 'fixes-owner', op);
    await failed(v, 'fixes-recipient', rp);
    throw err;
  } finally {
    await ownerCtx.close();
    await recipientCtx.close();
  }
}
