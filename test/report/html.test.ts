/**
 * report.html's text: what the page says about the run it shows (quick mode, factors below 1, the causes of
 * divergence), checked on synthetic reports.
 */
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/report/html.js';
import { summarizeCause } from '../../src/run/fidelity.js';
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

describe('the cause of a divergence', () => {
  it('names the instructions in the order they first misbehaved, not by how often', () => {
    const cause = summarizeCause([
      { instruction: 'popf', pc: 0x3000, count: 500, firstClock: 900, detail: 'IF lost' },
      { instruction: 'rdmode', pc: 0x1008, count: 1, firstClock: 3, detail: 'read 1' },
      { instruction: 'popf', pc: 0x3100, count: 7, firstClock: 40, detail: 'IF lost early' },
    ]);
    expect(cause).toBe(
      'rdmode silently misbehaved once (first at 0x1008, after 3 instructions): read 1; ' +
        'popf silently misbehaved 507 times (first at 0x3100, after 40 instructions): IF lost early',
    );
  });
});
