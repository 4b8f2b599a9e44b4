/**
 * report.html's text: what the page says about the run it shows (quick mode, factors below 1, the causes of
 * divergence), checked on synthetic reports.
 */
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/report/html.js';
import { cell, report } from './fixture.js';

const text = (html: string): string => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
const one = [cell({ engine: 'native', workload: 'hello', overhead: 1, cycles: { direct: 100 } })];

describe('the header', () => {
  it('a quick report says so in a banner above the first section; a default report does not', async () => {
    const quick = await renderHtml(report(one, { quick: true }));
    const banner = quick.indexOf('<p class="banner">');
    expect(banner).toBeGreaterThan(0);
    expect(banner).toBeLessThan(quick.indexOf('<section'));
    expect(text(quick)).toMatch(/Quick run \(--quick\) : every workload at its small quick scale.*not representative/);
    expect(await renderHtml(report(one, { quick: false }))).not.toContain('class="banner"');
  });
});
