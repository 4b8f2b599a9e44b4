/**
 * Modeled cycles: counts times per-event prices, summed by category.
 *
 * Every term is one counter (or a sum of counters) times one price of the preset. A benchmark's total is never
 * priced as a whole; it emerges from what the engine counted. COST_TERMS is the complete list, so the report
 * can show exactly how a total was made.
 */
import type { Counters } from './counters.js';
import type { CostPreset, PriceKey } from './presets.js';

export type CostCategory =
  | 'direct'
  | 'interpreted'
  | 'translated'
  | 'translation'
  | 'inline'
  | 'emulation'
  | 'trap'
  | 'callout'
  | 'exit'
  | 'vmcs'
  | 'hypercall'
  | 'delivery'
  | 'device'
  | 'system'
  | 'mmu';

export interface CostTerm {
  readonly category: CostCategory;
  readonly label: string;
  readonly count: (c: Counters) => number;
  readonly price: PriceKey;
}

export const COST_TERMS: readonly CostTerm[] = [
  { category: 'direct', label: 'instructions executed directly', count: (c) => c.directInstructions, price: 'directInstruction' },
  { category: 'interpreted', label: 'instructions interpreted', count: (c) => c.interpretedInstructions, price: 'interpretedInstruction' },
  { category: 'translated', label: 'instructions run as translated code', count: (c) => c.translatedInstructions, price: 'translatedInstruction' },
  { category: 'translation', label: 'instructions translated', count: (c) => c.instructionsTranslated, price: 'translation' },
  { category: 'inline', label: 'sensitive instructions emulated inline', count: (c) => c.inlineEmulations, price: 'inlineEmulation' },
  {
    category: 'emulation',
    label: 'instructions emulated and events delivered in software by the VMM',
    count: (c) => c.emulatedInstructions + c.reflectedExceptions + c.injectedInterrupts,
    price: 'emulation',
  },
  { category: 'trap', label: 'traps and host interrupts into the VMM', count: (c) => c.traps + c.hostInterrupts, price: 'trap' },
  { category: 'callout', label: 'callouts from translated code', count: (c) => c.callouts, price: 'callout' },
  { category: 'exit', label: 'VM exits (with the entry back)', count: (c) => c.vmExits, price: 'vmExit' },
  { category: 'vmcs', label: 'VMCS field reads', count: (c) => c.vmcsReads, price: 'vmcsRead' },
  { category: 'vmcs', label: 'VMCS field writes', count: (c) => c.vmcsWrites, price: 'vmcsWrite' },
  { category: 'hypercall', label: 'hypercalls', count: (c) => c.hypercalls, price: 'hypercall' },
  {
    category: 'delivery',
    label: 'traps and interrupts delivered by hardware',
    count: (c) => c.hardwareDeliveries - c.hardwareFaultDeliveries,
    price: 'trapDelivery',
  },
  { category: 'delivery', label: 'faults delivered by hardware', count: (c) => c.hardwareFaultDeliveries, price: 'faultDelivery' },
  { category: 'device', label: 'physical device accesses', count: (c) => c.physicalPortAccesses, price: 'physicalDeviceAccess' },
  { category: 'system', label: 'flag instructions run natively', count: (c) => c.nativeFlagInstructions, price: 'flagInstruction' },
  {
    category: 'system',
    label: 'control-register instructions run natively',
    count: (c) => c.nativeControlInstructions,
    price: 'controlInstruction',
  },
  // Memory virtualization. TLB flushes have no price of their own: their cost is the walks that refill the TLB.
  { category: 'mmu', label: 'page-walk memory references (TLB misses; 2-D walks count the nested table too)', count: (c) => c.pageWalkRefs, price: 'pageWalkReference' },
  {
    category: 'mmu',
    label: 'page-table entries the VMM computed (shadow entries built or updated, nested-table entries, validated paravirtual updates)',
    count: (c) => c.shadowEntriesBuilt + c.shadowUpdates + c.eptViolations + c.validatedPageTableUpdates,
    price: 'vmmPageTableUpdate',
  },
];

export const COST_CATEGORIES: readonly CostCategory[] = [...new Set(COST_TERMS.map((t) => t.category))];

export interface ModeledCycles {
  total: number;
  /** Cycles by category (every category present, 0 when unused; fixed order). */
  byCategory: Record<CostCategory, number>;
}

export function modeledCycles(c: Counters, preset: CostPreset): ModeledCycles {
  const byCategory = Object.fromEntries(COST_CATEGORIES.map((k) => [k, 0])) as Record<CostCategory, number>;
  let total = 0;
  for (const t of COST_TERMS) {
    const cycles = t.count(c) * preset.prices[t.price].cycles;
    byCategory[t.category] += cycles;
    total += cycles;
  }
  return { total, byCategory };
}
