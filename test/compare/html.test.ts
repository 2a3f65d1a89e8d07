// The HTML comparison page in a real browser: headless Chromium (Debian's, at /usr/bin/chromium)
// driven by playwright-core, with every network request refused, so the page has to be self-contained.
// It must load without console errors, draw its charts (canvas pixels not all transparent), re-sort its
// table on a header click, and read at a laptop's width (1300 px: the page does not scroll sideways,
// the table scrolls in its own box up to its last column); the test saves a screenshot at that width.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSides, sideFromReport } from '../../reporters/compare/index.js';
import { renderHtml } from '../../reporters/html.js';
import { MiB, repeated, type Figures } from './factory.js';

const CHROMIUM = '/usr/bin/chromium';
/** A laptop's width, where the table's 19 columns do not fit. */
const LAPTOP = { width: 1300, height: 900 };
// as describeSandbox: skipped where Chromium is missing, but a CI run (which installs it) fails instead
const missing = !fs.existsSync(CHROMIUM) && process.env.RINGFENCE_REQUIRE_SANDBOX !== '1';

/** `n` runs of `jobs`, each figure spread evenly by ±spread around the value given. */
function runs(jobs: Record<string, Figures>, n: number, spread: number): Record<string, Figures>[] {
  return Array.from({ length: n }, (_, i) => {
    const k = 1 + spread * (i - (n - 1) / 2);
    return Object.fromEntries(
      Object.entries(jobs).map(([id, f]) => [
        id,
        { ...f, cpu: (f.cpu ?? 50) * k, memory: (f.memory ?? 30 * MiB) * k, wall: (f.wall ?? 100) * k },
      ]),
    );
  });
}

describe.skipIf(missing)(`HTML comparison in headless Chromium (${CHROMIUM})`, () => {
  let dir: string;
  let browser: Browser;
  let page: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-compare-html-'));
    const before = {
      build: { cpu: 400 },
      'memory-hog': { memory: 40 * MiB },
      lint: { cpu: 300 },
      'unit-tests': { cpu: 900, memory: 60 * MiB },
      removed: {},
    };
    const after = {
      build: { cpu: 420 },
      'memory-hog': { memory: 110 * MiB },
      lint: { cpu: 120 },
      'unit-tests': { cpu: 1300, memory: 61 * MiB },
      'e2e <script>': {},
    };
    const base = repeated(runs(before, 3, 0.02));
    const head = repeated(runs(after, 3, 0.02));
    page = path.join(dir, 'compare.html');
    fs.writeFileSync(
      page,
      renderHtml(compareSides(sideFromReport(base, 'base.json'), sideFromReport(head, 'head.json'))),
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads offline without console errors, draws every chart, sorts on a click, and saves a screenshot', async () => {
    const context = await browser.newContext({ viewport: LAPTOP });
    const tab = await context.newPage();
    const errors: string[] = [];
    const fetched: string[] = [];
    tab.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') errors.push(`${msg.type()}: ${msg.text()}`);
    });
    tab.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    // nothing but the page itself may load: no CDN, no network at view time
    await tab.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      fetched.push(url);
      return route.abort();
    });
    await tab.goto(`file://${page}`);
    await tab.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
    expect(errors).toEqual([]);
    expect(fetched).toEqual([]);

    // every canvas has drawn something: some pixel is not fully transparent
    const drawn = await tab.$$eval('canvas', (canvases) =>
      canvases.map((c) => {
        const ctx = c.getContext('2d');
        if (!ctx || c.width === 0 || c.height === 0) return { id: c.id || c.className, painted: 0 };
        const pixels = ctx.getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
        return { id: c.id || c.className, painted };
      }),
    );
    // the bar chart, the scatter, and a history line for each of the 6 tests (6 runs in all > 2)
    expect(drawn.map((d) => d.id)).toEqual(['bars', 'scatter', ...Array<string>(6).fill('history')]);
    for (const d of drawn) expect(d.painted, `canvas ${d.id}`).toBeGreaterThan(50);

    // regressions first, largest first: the memory hog leads
    const order = () => tab.$$eval('#tests tbody tr', (rows) => rows.map((r) => r.getAttribute('data-key')));
    const initial = await order();
    expect(initial[0]).toBe('memory-hog');
    // the test name with markup in it is shown as text, not parsed
    expect(await tab.locator('#tests tbody td', { hasText: 'e2e <script>' }).count()).toBe(1);

    await tab.click('#tests th[data-sort="key"]');
    const byName = await order();
    expect(byName).toEqual([...initial].sort((a, b) => String(a).localeCompare(String(b))));
    expect(byName).not.toEqual(initial);
    await tab.click('#tests th[data-sort="key"]');
    expect(await order()).toEqual([...byName].reverse());
    // numbers sort as numbers, and a second click turns the order round: largest memory change first
    await tab.click('#tests th[data-sort="memory-pct"]');
    await tab.click('#tests th[data-sort="memory-pct"]');
    expect((await order()).slice(0, 2)).toEqual(['memory-hog', 'unit-tests']);
    expect(await tab.getAttribute('#tests th[data-sort="memory-pct"]', 'aria-sort')).toBe('descending');

    await tab.click('#tests th[data-sort="verdict"]'); // back to the report's order for the picture
    const shot = path.join(dir, 'compare.png');
    await tab.screenshot({ path: shot, fullPage: true });
    expect(fs.statSync(shot).size).toBeGreaterThan(20_000);
    // RINGFENCE_SCREENSHOT_DIR keeps a copy for a person to look at
    const keep = process.env.RINGFENCE_SCREENSHOT_DIR;
    if (keep) fs.copyFileSync(shot, path.join(keep, 'compare.png'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('reads at 1300 px: the page does not scroll sideways, the table scrolls in its box to its last column', async () => {
    const context = await browser.newContext({ viewport: LAPTOP });
    const tab = await context.newPage();
    await tab.goto(`file://${page}`);
    await tab.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });

    const widths = await tab.$eval('html', (html) => ({
      scrollWidth: html.scrollWidth,
      innerWidth: html.ownerDocument.defaultView?.innerWidth,
    }));
    expect(widths.innerWidth).toBe(LAPTOP.width);
    expect(widths.scrollWidth).toBeLessThanOrEqual(widths.innerWidth);

    // the table is wider than its box (so this checks the box's scrolling, not a table that fits),
    // and scrolled to its end the last header lies inside the box, on top (not under the held column)
    const last = await tab.$eval('#tests-box', (box) => {
      const th = box.querySelector('#tests thead th:last-child');
      if (!th) throw new Error('the table has no header');
      const overflow = box.scrollWidth - box.clientWidth;
      box.scrollLeft = box.scrollWidth;
      const b = box.getBoundingClientRect();
      const h = th.getBoundingClientRect();
      const hit = box.ownerDocument.elementFromPoint(h.left + h.width / 2, h.top + h.height / 2);
      return {
        overflow,
        // a user can scroll it (hidden would clip the columns yet let a script scroll)
        scrollable: ['auto', 'scroll'].includes(
          box.ownerDocument.defaultView?.getComputedStyle(box).overflowX,
        ),
        label: th.textContent,
        inside: h.left >= b.left && h.right <= b.right + 1 && h.top >= b.top && h.bottom <= b.bottom,
        onTop: hit === th,
        pageScrollWidth: box.ownerDocument.documentElement.scrollWidth,
      };
    });
    expect(last.overflow).toBeGreaterThan(0);
    expect(last.scrollable).toBe(true);
    expect(last.label).toBe('history (CPU, memory)');
    expect(last.inside).toBe(true);
    expect(last.onTop).toBe(true);
    expect(last.pageScrollWidth).toBeLessThanOrEqual(LAPTOP.width);
    await context.close();
  });
});
