/**
 * report.html in a real browser (Debian's chromium, driven by playwright-core): every chart rendered (an SVG
 * with at least as many data marks as the run has data for it), no console errors, no request but the report
 * file itself, and a screenshot saved for people to look at.
 *
 * Chromium comes from `apt-get install chromium` (.ci/run installs it). Elsewhere, without it, the test is
 * skipped with a message — unless VIRTSTRAT_REQUIRE_BROWSER=1 (set by CI), which turns a missing browser into
 * a failure, so CI can never skip it silently.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { BenchReport, CellRecord } from '../../src/report/model.js';
import { cli } from '../support/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const required = process.env.VIRTSTRAT_REQUIRE_BROWSER === '1';
if (!present && !required) {
  console.warn(`[browser test] skipped: ${CHROMIUM} not found (apt-get install chromium; CI sets VIRTSTRAT_REQUIRE_BROWSER=1)`);
}
export const SCREENSHOT = resolve('test/.output/report.png');

/**
 * The fewest data marks each chart must draw for a report, computed from results.json alone (not from the chart
 * code): a bar per cell in the overhead chart, a bar per cell that entered a VMM in the exit-rate chart, and so on.
 */
function fewestMarks(report: BenchReport): Record<string, number> {
  const cells = report.cells.filter((c) => c.status !== 'error' && c.counters !== null);
  const paging = new Set(report.workloads.filter((w) => w.paging).map((w) => w.name));
  const exact = cells.filter((c) => c.fidelity?.verdict === 'exact');
  const count = (key: string) => (c: CellRecord): number => c.counters?.[key] ?? 0;
  return {
    'chart-overhead': cells.length,
    'chart-exit-rate': cells.filter((c) => count('vmmEntries')(c) > 0).length,
    // At least one category and the overhead label per cell.
    'chart-cycles-breakdown': 2 * cells.length,
    'chart-exit-reasons': new Set(exact.filter((c) => c.reasons.length > 0).map((c) => c.engine)).size,
    'chart-dbt-cache': cells.filter((c) => count('blocksTranslated')(c) > 0).length,
    'chart-throughput': cells.filter((c) => c.timing !== null).length,
    'chart-memory-events': cells.filter((c) => paging.has(c.workload) && c.engine !== 'native' && ['tracedWrites', 'hiddenPageFaults', 'truePageFaults', 'shadowSwitches', 'eptViolations', 'validatedPageTableUpdates'].some((k) => count(k)(c) > 0)).length,
  };
}

describe('report.html in headless Chromium', () => {
  it('the browser is there when CI requires it', () => {
    if (required) expect(present, `${CHROMIUM} is required in CI`).toBe(true);
  });

  it.skipIf(!present)('renders every chart, with no console errors and no network requests', async () => {
    const out = mkdtempSync(join(tmpdir(), 'virtstrat-report-'));
    const r = await cli('bench', '--quick', '--engines', 'native,emulate,trap-emulate,dbt,paravirt,vtx,vtx-ept', '--workloads', 'syscall,smc,ptemod', '--out', out);
    expect(r.code, r.err).toBe(0);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (req) => requests.push(req.url()));
      const url = pathToFileURL(join(out, 'report.html')).href;
      await page.goto(url, { waitUntil: 'load' });
      // Data marks only: the items of vega's `role-mark` groups (bars are paths, labels texts, points symbols) —
      // not axes, ticks, grid lines or legends, which a chart with no data draws too.
      const charts = await page.$$eval('figure.chart', (figs) =>
        figs.map((f) => ({
          id: f.id,
          svg: f.querySelector('svg') !== null,
          marks: f.querySelectorAll('svg g.role-mark > path, svg g.role-mark > rect, svg g.role-mark > text').length,
          width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
        })),
      );
      expect(charts.map((c) => c.id)).toEqual([
        'chart-memory-events', // in the memory-virtualization section (ptemod is a paging workload)
        'chart-overhead',
        'chart-exit-rate',
        'chart-cycles-breakdown',
        'chart-exit-reasons',
        'chart-dbt-cache',
        'chart-throughput',
      ]);
      const minimum = fewestMarks(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
      for (const c of charts) {
        expect(c.svg, c.id).toBe(true);
        expect(minimum[c.id], `${c.id}: the run has data for it`).toBeGreaterThan(0);
        expect(c.marks, `${c.id}: one data mark per bar at least`).toBeGreaterThanOrEqual(minimum[c.id]);
        expect(c.width, `${c.id} has a size`).toBeGreaterThan(100);
      }
      // The fidelity matrix and the tables are there too.
      expect(await page.$$eval('table.fidelity td.diverged', (tds) => tds.length)).toBe(3); // trap-emulate on all three
      expect(await page.$$eval('#memory table.memory', (t) => t.length)).toBe(1); // one table per paging workload
      expect(errors).toEqual([]);
      expect(requests, 'the report file is the only request: no script, image, font or style from anywhere').toEqual([url]);
      mkdirSync(resolve('test/.output'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(existsSync(SCREENSHOT)).toBe(true);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
