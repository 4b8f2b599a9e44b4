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

describe('the note on factors below 1', () => {
  const native = cell({ engine: 'native', workload: 'in', overhead: 1, cycles: { direct: 50, device: 950 } });
  const emulate = cell({ engine: 'emulate', workload: 'in', overhead: 0.65, cycles: { interpreted: 650 } });
  const paravirt = cell({ engine: 'paravirt', workload: 'in', overhead: 0.19, cycles: { direct: 100, hypercall: 90 }, guestBuild: 'paravirt' });
  const wrong = cell({ engine: 'trap-emulate', workload: 'in', overhead: 0.85, verdict: 'diverged', cycles: { direct: 850 } });

  it('explains each exact run cheaper than the reference by what it saves: device accesses, or paravirt\'s other kernel', async () => {
    const t = text(await renderHtml(report([native, emulate, paravirt, wrong])));
    expect(t).toMatch(/Why some factors are below 1\. 2 runs that matched the reference/);
    expect(t).toMatch(/device accesses \. A physical device access is dear on real hardware \(3,209 cycles each in p4-2006\).* Here: emulate on in 0\.65× \(devices 95 %\)\./);
    expect(t).toMatch(/paravirt \. It runs a modified kernel .* Here: in 0\.19× \(devices 95 %\)\./);
    expect(t).not.toMatch(/trap-emulate on in/); // diverged: its cost is the cost of a wrong run
  });

  it('says when there is no native run to name the category, and is absent when nothing is below 1', async () => {
    expect(text(await renderHtml(report([emulate])))).toMatch(/other \. The report has no native run .* Here: emulate on in 0\.65×\./);
    expect(await renderHtml(report([native, cell({ engine: 'dbt', workload: 'in', overhead: 2, cycles: { translated: 2000 } })]))).not.toContain('id="below-one"');
  });
});
