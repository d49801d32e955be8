// What the browser tests share: Debian's chromium through playwright-core, waiting for
// what a person would see, screenshots, and the accessibility checks every page must pass
// (labels, axe-core, keyboard focus).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CDPSession, Locator, Page } from 'playwright-core';
import { CI } from './ci.js';
import { ROOT } from './server.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');
export const WAIT_MS = 10_000;
export const haveChromium = existsSync(CHROMIUM);
/** Without the browser each test is reported as skipped, so the gap shows in the counts; under CI=true it is a failure instead. */
export const browserSkipReason = !haveChromium && !CI ? `no ${CHROMIUM}: apt-get install -y chromium` : '';

// Page functions run in the browser; the root tsconfig has no DOM types.
declare const document: { documentElement: { scrollWidth: number } };
declare const window: { innerWidth: number };

export async function eventually<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeout = WAIT_MS): Promise<T> {
  const end = Date.now() + timeout;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not so within ${timeout} ms; last seen: ${last === undefined ? String(lastErr) : JSON.stringify(last).slice(0, 800)}`);
}

/** Waits until the element's visible text contains (or matches) `expected`. */
export async function expectText(loc: Locator, expected: string | RegExp, what = String(expected), timeout = WAIT_MS): Promise<string> {
  return eventually(
    what,
    () => loc.first().innerText({ timeout: 1_000 }),
    (s) => (typeof expected === 'string' ? s.includes(expected) : expected.test(s)),
    timeout,
  );
}

export async function expectGone(loc: Locator, what: string): Promise<void> {
  await eventually(what, () => loc.count(), (n) => n === 0);
}

/**
 * Screenshots of one test file, in a folder of its own under test-artifacts/screenshots/
 * (emptied first: pictures of an earlier run would pass for this one's), numbered per prefix.
 */
export function screenshots(folder: string): { reset(): void; shot(page: Page, prefix: string, name: string, fullPage?: boolean): Promise<void> } {
  const dir = join(SCREENSHOTS, folder);
  const numbers = new Map<string, number>();
  return {
    reset() {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    },
    async shot(page, prefix, name, fullPage = true) {
      const n = (numbers.get(prefix) ?? 0) + 1;
      numbers.set(prefix, n);
      // Let toasts and lists settle; the picture is for a person to judge.
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(dir, `${prefix}-${String(n).padStart(2, '0')}-${name}.png`), fullPage, animations: 'disabled' });
    },
  };
}

const INTERACTIVE = new Set(['button', 'link', 'textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'spinbutton', 'slider', 'switch', 'menuitem', 'tab', 'progressbar']);

/** Every control the browser exposes has an accessible name (the browser's own computation, over CDP); those without are named by their HTML. */
export async function assertLabelled(page: Page, where: string): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored: boolean; role?: { value: string }; name?: { value: string }; backendDOMNodeId?: number }[] };
    const unnamed: string[] = [];
    for (const n of nodes) {
      const role = n.role?.value ?? '';
      if (n.ignored || !INTERACTIVE.has(role)) continue;
      if ((n.name?.value ?? '').trim()) continue;
      unnamed.push(`${role}: ${n.backendDOMNodeId ? await outerHtmlOf(cdp, n.backendDOMNodeId) : ''}`);
    }
    assert.deepEqual(unnamed, [], `${where}: controls without an accessible name`);
  } finally {
    await cdp.detach();
  }
}

/** The start of an element's HTML, to name it in a failure; '' if it is gone meanwhile. */
async function outerHtmlOf(cdp: CDPSession, backendNodeId: number): Promise<string> {
  try {
    const { object } = (await cdp.send('DOM.resolveNode', { backendNodeId })) as { object: { objectId: string } };
    const { result } = (await cdp.send('Runtime.callFunctionOn', { objectId: object.objectId, functionDeclaration: 'function(){return this.outerHTML.slice(0,200)}', returnByValue: true })) as { result: { value?: string } };
    return result.value ?? '';
  } catch {
    return '';
  }
}

/** The page fits the window's width: nothing makes a reader scroll sideways (tables scroll inside their own box). */
export async function assertNoSidewaysScroll(page: Page, where: string): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width + 1, `${where}: the page is ${scroll} px wide in a ${width} px window`);
}

export function watchErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // HTTP errors the console expects and shows (401 before signing in, a refused share) are logged by the browser as resources that failed to load.
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
}

const AXE = join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
let axeSource: Promise<string> | undefined;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * No serious or critical axe-core violation on the page as it is now (dialogs and
 * menus included when open). The console's CSP (script-src 'self') refuses an injected
 * <script> tag (addScriptTag) and logs the refusal as a page error, so axe's source is run
 * through the debugger protocol instead, which the CSP does not govern.
 */
export async function assertNoAxeViolations(page: Page, where: string): Promise<void> {
  const loaded = () => page.evaluate('typeof window.axe === "object"') as Promise<boolean>;
  if (!(await loaded())) {
    axeSource ??= readFile(AXE, 'utf8');
    const source = await axeSource;
    await page.evaluate(source);
  }
  assert.ok(await loaded(), `${where}: axe-core did not load into the page`);
  const violations = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })))`,
  )) as AxeViolation[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => `${n.target.join(' ')}${n.failureSummary ? ` (${n.failureSummary.replace(/\s+/g, ' ').slice(0, 200)})` : ''}`).join('; ')}`),
    [],
    `${where}: serious or critical accessibility violations (axe-core)`,
  );
}

/**
 * Tab through the page from the top (up to `presses` stops, or to its last control): every
 * stop shows where the focus is (an outline or a ring), as a keyboard user needs to see.
 */
export async function assertKeyboardStops(page: Page, where: string, presses = 15): Promise<string[]> {
  await page.evaluate('document.activeElement && document.activeElement.blur && document.activeElement.blur()');
  const stops: string[] = [];
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    const f = (await page.evaluate(`(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const cs = getComputedStyle(el);
      const ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || (cs.boxShadow && cs.boxShadow !== 'none');
      return { tag: el.tagName.toLowerCase(), name: (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40), ring };
    })()`)) as { tag: string; name: string; ring: boolean } | null;
    // Past the last control the focus leaves the page (for the browser's own bar): the walk is over.
    if (!f && stops.length > 0) break;
    assert.ok(f, `${where}: the first Tab press left the focus nowhere`);
    assert.ok(f.ring, `${where}: the focused ${f.tag} "${f.name}" shows no focus ring`);
    stops.push(`${f.tag}:${f.name}`);
  }
  return stops;
}
