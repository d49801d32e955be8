// Accessibility checks for the browser tests: axe-core (the rules WCAG audits run)
// injected into the page under test, over what the page shows at that moment.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from './server.js';

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

// ---------------------------------------------------------------------------
// Driving the console (Debian's chromium through playwright-core).

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const SHOTS = join(ROOT, 'test-artifacts', 'screenshots');
export const WAIT_MS = 10_000;

/** Polls `fn` until `ok` holds; fails with the last value seen. */
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
