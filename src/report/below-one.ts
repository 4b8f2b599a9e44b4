/**
 * The note under the overhead table on factors below 1: a virtualized run that costs fewer modeled cycles than
 * the bare-hardware reference. Students ask; the answer is in the cost model (a physical device access is dear,
 * an emulated one is memory) or in paravirt's other kernel, and each run's reason is computed from its cells.
 */
import type { CostPreset } from '../metrics/presets.js';
import { belowOne, type BelowOne, type HardwareCategory } from './facts.js';
import { esc } from './escape.js';
import type { BenchReport } from './model.js';
import { factor } from './scales.js';

type Group = HardwareCategory | 'modified-kernel' | 'unknown';

const n = (v: number): string => v.toLocaleString('en-US');

/** Why each group of runs is cheaper than the reference, with this preset's prices. */
function why(group: Group, p: CostPreset): string {
  const price = (k: keyof CostPreset['prices']): string => n(p.prices[k].cycles);
  switch (group) {
    case 'modified-kernel':
      return (
        'It runs a modified kernel — other code, compared with the reference on its output only: it writes a whole console ' +
        'buffer with one hypercall where the native kernel writes each character to a device port, masks interrupts by writing ' +
        'a shared page instead of running cli and sti, and batches its page-table updates.'
      );
    case 'device':
      return (
        `A physical device access is dear on real hardware (${price('physicalDeviceAccess')} cycles each in ${p.id}); an ` +
        'emulated device is memory the VMM reads and writes, with no price of its own beyond the interpretation, callout or ' +
        'exit of the instruction that reached it.'
      );
    case 'system':
      return (
        `Flag and control-register instructions (cli, sti, popf, mtcr, ...) cost ${price('flagInstruction')} and ` +
        `${price('controlInstruction')} cycles each on the hardware; the engine updates its virtual CPU instead ` +
        `(${price('inlineEmulation')} cycles inline in translated code).`
      );
    case 'delivery':
      return (
        `The hardware delivers an exception or interrupt for ${price('trapDelivery')} to ${price('faultDelivery')} cycles; ` +
        `the VMM reflects it into the guest in software (${price('emulation')} cycles).`
      );
    case 'unknown':
      return 'The report has no native run to compare cost categories with, so the reason cannot be named here.';
  }
}

const LABEL: Record<HardwareCategory, string> = { device: 'device accesses', system: 'flag and control instructions', delivery: 'hardware delivery' };
const SHORT: Record<HardwareCategory, string> = { device: 'devices', system: 'flag/control', delivery: 'delivery' };

/** "hello 0.51× (devices 57 %)": the run, and the share of the reference's cycles in the category it saves on. */
function run(b: BelowOne, withEngine: boolean): string {
  const share = b.saved ? ` (${SHORT[b.saved.category]} ${Math.round(100 * b.saved.referenceShare)} %)` : '';
  return `${withEngine ? `${b.engine} on ` : ''}${b.workload} ${factor(b.overhead)}${share}`;
}

/** The note as HTML, or '' when every exact run costs at least as much as the reference. */
export function belowOneNote(report: BenchReport): string {
  const runs = belowOne(report.cells);
  if (runs.length === 0) return '';
  const groups = new Map<Group, BelowOne[]>();
  for (const b of runs) {
    const g: Group = b.modifiedKernel ? 'modified-kernel' : (b.saved?.category ?? 'unknown');
    groups.set(g, [...(groups.get(g) ?? []), b]);
  }
  const items = [...groups.entries()].map(([g, bs]) => {
    const engines = [...new Set(bs.map((b) => b.engine))];
    const head = g === 'modified-kernel' ? engines.join(', ') : g === 'unknown' ? 'other' : LABEL[g];
    const list = bs.map((b) => run(b, g !== 'modified-kernel' || engines.length > 1)).join(', ');
    return `<li><b>${esc(head)}</b>. ${esc(why(g, report.preset))} Here: ${esc(list)}.</li>`;
  });
  return (
    `<div class="note" id="below-one"><p><b>Why some factors are below 1.</b> ${esc(runs.length)} runs that matched the reference ` +
    'cost fewer modeled cycles than it — a property of what they do and of the cost model, not free virtualization. ' +
    "In parentheses: the share of the reference's cycles in the category the run saves on.</p>" +
    `<ul>${items.join('')}</ul></div>`
  );
}
