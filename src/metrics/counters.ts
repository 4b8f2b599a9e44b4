/**
 * The counters every engine fills, with ONE key list that also drives CSV columns and report labels.
 *
 * Engines increment plain numeric fields of a `Counters` object. `COUNTER_FIELDS` describes each field once:
 * its CSV column name, its label, its group. Entries into the VMM are additionally counted by kind and
 * reason (`reasons`), which becomes the long-format exit_reasons.csv.
 */

/** How the guest reached the VMM. */
export type EntryKind = 'trap' | 'callout' | 'hypercall' | 'vm-exit' | 'interrupt';
export const ENTRY_KINDS: readonly EntryKind[] = ['trap', 'callout', 'hypercall', 'vm-exit', 'interrupt'];

export class Counters {
  // --- Guest instructions retired: the same meaning in every engine --------------------------
  guestInstructions = 0;
  userInstructions = 0;
  kernelInstructions = 0;
  /** Executed directly by the (physical) hardware model. */
  directInstructions = 0;
  /** Executed by a software interpreter of the whole CPU. */
  interpretedInstructions = 0;
  /** Emulated one at a time by a VMM after a trap, exit or callout (or as a hypercall). */
  emulatedInstructions = 0;
  /** Executed in translated code. */
  translatedInstructions = 0;

  // --- VMM entries ---------------------------------------------------------------------------
  vmmEntries = 0;
  traps = 0;
  callouts = 0;
  hypercalls = 0;
  vmExits = 0;
  /** Host interrupts (the VMM's timer) that entered the VMM. */
  hostInterrupts = 0;
  /** Virtual interrupts the VMM injected into the guest. */
  injectedInterrupts = 0;
  /** Exceptions the VMM reflected (delivered in software) into the guest kernel. */
  reflectedExceptions = 0;
  /** Sensitive instructions a translator rewrote into inline updates of the virtual CPU (no VMM entry). */
  inlineEmulations = 0;

  // --- Binary translation (QEMU's vocabulary) ------------------------------------------------
  blocksTranslated = 0;
  instructionsTranslated = 0;
  cacheHits = 0;
  cacheMisses = 0;
  chainedTransitions = 0;
  invalidations = 0;
  cacheFlushes = 0;

  // --- Hardware-assisted virtualization ------------------------------------------------------
  vmcsReads = 0;
  vmcsWrites = 0;

  // --- Memory virtualization and the TLB -----------------------------------------------------
  tlbWalks = 0;
  pageWalkRefs = 0;
  /** Of pageWalkRefs, references to the nested (EPT) table: 2-D walks. */
  nestedWalkRefs = 0;
  tlbFlushes = 0;
  tlbInvalidations = 0;
  hiddenPageFaults = 0;
  truePageFaults = 0;
  /** Guest writes to traced (write-protected) page-table pages, emulated by the VMM. */
  tracedWrites = 0;
  /** Shadow entries recomputed after traced writes. */
  shadowUpdates = 0;
  shadowFlushes = 0;
  shadowEntriesBuilt = 0;
  /** Shadow page-table pages (directories and tables) allocated and given back. */
  shadowPagesBuilt = 0;
  shadowPagesDropped = 0;
  /** Shadow contexts (one per guest address space and virtual mode) built and dropped. */
  shadowContextsBuilt = 0;
  shadowContextsDropped = 0;
  /** Guest page-table-base loads: the hardware switched to another (cached or new) shadow. */
  shadowSwitches = 0;
  /** Traced pages the guest reused as ordinary memory, unshadowed on their first write. */
  unshadowedPages = 0;
  /** Nested paging: EPT violations (guest-physical pages the VMM had not mapped yet). */
  eptViolations = 0;
  /** Paravirtual paging: entries of HC_MMU_UPDATE the hypervisor validated (accepted or rejected). */
  validatedPageTableUpdates = 0;

  // --- Work done by hardware (priced where the hardware does it) -----------------------------
  /** Exceptions and interrupts delivered by hardware straight to the guest kernel (no VMM). */
  hardwareDeliveries = 0;
  /** Of which faults (divide error, page fault, ...), the slow kind. */
  hardwareFaultDeliveries = 0;
  /** Port accesses that reached a physical device (only the reference machine has those). */
  physicalPortAccesses = 0;
  /** Port accesses emulated by a VMM's virtual devices. */
  emulatedPortAccesses = 0;
  /** cli, sti, pushf, popf, rdmode executed by hardware (not trapped, not translated). */
  nativeFlagInstructions = 0;
  /** mfcr, mtcr, invlpg executed by hardware. */
  nativeControlInstructions = 0;
  /** Instructions the guest spent halted, waiting for an interrupt. */
  idleTicks = 0;

  /** VMM entries by kind and reason, e.g. "vm-exit" / "30 I/O instruction". */
  private readonly reasons = new Map<EntryKind, Map<string, number>>();
  /** Batched calls (paravirt): "<call>\u0000<batch size>" -> number of calls. */
  readonly batchSizes = new Map<string, number>();

  /** Count one VMM entry of a kind, for a reason. */
  enter(kind: EntryKind, reason: string): void {
    this.vmmEntries++;
    switch (kind) {
      case 'trap':
        this.traps++;
        break;
      case 'callout':
        this.callouts++;
        break;
      case 'hypercall':
        this.hypercalls++;
        break;
      case 'vm-exit':
        this.vmExits++;
        break;
      case 'interrupt':
        this.hostInterrupts++;
        break;
    }
    // Two levels, so that counting an entry builds no string (a VMM counts one on every trap or exit).
    let byReason = this.reasons.get(kind);
    if (byReason === undefined) {
      byReason = new Map();
      this.reasons.set(kind, byReason);
    }
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }

  /** One batched call (e.g. HC_MMU_UPDATE) carrying `size` operations. */
  batch(call: string, size: number): void {
    const key = `${call}\u0000${size}`;
    this.batchSizes.set(key, (this.batchSizes.get(key) ?? 0) + 1);
  }

  /** Batch sizes per call, sorted by call then size (deterministic order). */
  batchList(): BatchCount[] {
    return [...this.batchSizes.entries()]
      .map(([k, calls]) => {
        const [call, size] = k.split('\u0000');
        return { call, size: Number(size), calls };
      })
      .sort((a, b) => (a.call === b.call ? a.size - b.size : a.call < b.call ? -1 : 1));
  }

  /** VMM entries per 1,000 guest instructions. */
  get exitsPerKInsn(): number {
    return this.guestInstructions === 0 ? 0 : (1000 * this.vmmEntries) / this.guestInstructions;
  }

  get averageBlockLength(): number {
    return this.blocksTranslated === 0 ? 0 : this.instructionsTranslated / this.blocksTranslated;
  }

  /** Entries by kind and reason, sorted (deterministic order). */
  reasonList(): ReasonCount[] {
    return [...this.reasons.entries()]
      .flatMap(([kind, byReason]) => [...byReason.entries()].map(([reason, count]) => ({ kind, reason, count })))
      .sort((a, b) => (a.kind === b.kind ? (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0) : ENTRY_KINDS.indexOf(a.kind) - ENTRY_KINDS.indexOf(b.kind)));
  }

  /** Every field of COUNTER_FIELDS as a plain object (deterministic key order). */
  snapshot(): CounterSnapshot {
    const out: Record<string, number> = {};
    for (const f of COUNTER_FIELDS) out[f.key] = f.derived ? f.derived(this) : (this[f.key as keyof Counters] as number);
    return out as CounterSnapshot;
  }
}

export interface BatchCount {
  call: string;
  size: number;
  calls: number;
}

export interface ReasonCount {
  kind: EntryKind;
  reason: string;
  count: number;
}

export type CounterGroup = 'instructions' | 'vmm' | 'translation' | 'vmx' | 'memory' | 'hardware';

export interface CounterField {
  readonly key: string;
  readonly csv: string;
  readonly label: string;
  /** A shorter label for chart legends and table headers, where it differs (the long one becomes the hover text). */
  readonly short?: string;
  readonly group: CounterGroup;
  /** Computed from other counters rather than stored. */
  readonly derived?: (c: Counters) => number;
}

type NumericKeys<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];
export type CounterKey = Exclude<NumericKeys<Counters>, 'exitsPerKInsn' | 'averageBlockLength'>;

const f = (key: CounterKey, csv: string, label: string, group: CounterGroup, short?: string): CounterField => ({
  key,
  csv,
  label,
  group,
  ...(short === undefined ? {} : { short }),
});

/** THE key list: CSV columns, JSON keys and report labels all come from here. */
export const COUNTER_FIELDS: readonly CounterField[] = [
  f('guestInstructions', 'guest_instructions', 'guest instructions retired', 'instructions'),
  f('userInstructions', 'user_instructions', 'guest user-mode instructions', 'instructions'),
  f('kernelInstructions', 'kernel_instructions', 'guest kernel-mode instructions', 'instructions'),
  f('directInstructions', 'direct_instructions', 'executed directly', 'instructions'),
  f('interpretedInstructions', 'interpreted_instructions', 'interpreted', 'instructions'),
  f('emulatedInstructions', 'emulated_instructions', 'emulated by the VMM', 'instructions'),
  f('translatedInstructions', 'translated_instructions', 'run as translated code', 'instructions'),
  f('vmmEntries', 'vmm_entries', 'VMM entries', 'vmm'),
  f('traps', 'traps', 'traps', 'vmm'),
  f('callouts', 'callouts', 'callouts from translated code', 'vmm'),
  f('hypercalls', 'hypercalls', 'hypercalls', 'vmm'),
  f('vmExits', 'vm_exits', 'VM exits', 'vmm'),
  f('hostInterrupts', 'host_interrupts', 'host interrupts into the VMM', 'vmm'),
  { key: 'exitsPerKInsn', csv: 'exits_per_kinsn', label: 'VMM entries per 1,000 guest instructions', group: 'vmm', derived: (c) => c.exitsPerKInsn },
  f('injectedInterrupts', 'injected_interrupts', 'virtual interrupts injected', 'vmm'),
  f('reflectedExceptions', 'reflected_exceptions', 'exceptions reflected into the guest', 'vmm'),
  f('inlineEmulations', 'inline_emulations', 'sensitive instructions emulated inline', 'vmm'),
  f('blocksTranslated', 'blocks_translated', 'blocks translated', 'translation'),
  f('instructionsTranslated', 'instructions_translated', 'instructions translated', 'translation'),
  { key: 'averageBlockLength', csv: 'avg_block_length', label: 'average block length', group: 'translation', derived: (c) => c.averageBlockLength },
  f('cacheHits', 'cache_hits', 'translation-cache hits', 'translation', 'cache hits'),
  f('cacheMisses', 'cache_misses', 'translation-cache misses', 'translation', 'cache misses'),
  f('chainedTransitions', 'chained_transitions', 'chained block transitions', 'translation', 'chained transitions'),
  f('invalidations', 'invalidations', 'blocks invalidated by code writes', 'translation', 'invalidations'),
  f('cacheFlushes', 'cache_flushes', 'translation-cache flushes', 'translation', 'flushes'),
  f('vmcsReads', 'vmcs_reads', 'VMCS field reads', 'vmx'),
  f('vmcsWrites', 'vmcs_writes', 'VMCS field writes', 'vmx'),
  f('tlbWalks', 'tlb_walks', 'TLB misses (page walks)', 'memory', 'TLB misses'),
  f('pageWalkRefs', 'page_walk_refs', 'page-walk memory references', 'memory', 'walk refs'),
  f('nestedWalkRefs', 'nested_walk_refs', 'of which nested-table references (2-D walks)', 'memory'),
  f('tlbFlushes', 'tlb_flushes', 'TLB flushes', 'memory'),
  f('tlbInvalidations', 'tlb_invalidations', 'TLB entries invalidated (invlpg)', 'memory'),
  f('hiddenPageFaults', 'hidden_page_faults', 'hidden page faults (shadow misses)', 'memory', 'hidden page faults'),
  f('truePageFaults', 'true_page_faults', 'true page faults (reflected)', 'memory'),
  f('tracedWrites', 'traced_writes', 'traced page-table writes', 'memory'),
  f('shadowUpdates', 'shadow_updates', 'shadow entries updated by traced writes', 'memory', 'shadow updates'),
  f('shadowEntriesBuilt', 'shadow_entries_built', 'shadow entries built (hidden faults)', 'memory'),
  f('shadowPagesBuilt', 'shadow_pages_built', 'shadow page-table pages built', 'memory'),
  f('shadowPagesDropped', 'shadow_pages_dropped', 'shadow page-table pages dropped', 'memory'),
  f('shadowContextsBuilt', 'shadow_contexts_built', 'shadow contexts built (address space x mode)', 'memory', 'shadow contexts'),
  f('shadowContextsDropped', 'shadow_contexts_dropped', 'shadow contexts dropped', 'memory'),
  f('shadowSwitches', 'shadow_switches', 'page-table-base loads (shadow switches)', 'memory', 'shadow switches'),
  f('unshadowedPages', 'unshadowed_pages', 'traced pages unshadowed (reused as data)', 'memory'),
  f('shadowFlushes', 'shadow_flushes', 'whole shadow flushes', 'memory'),
  f('eptViolations', 'ept_violations', 'EPT violations (nested paging)', 'memory', 'EPT violations'),
  f('validatedPageTableUpdates', 'validated_pt_updates', 'page-table updates validated by the hypervisor (paravirt)', 'memory', 'validated paravirtual updates'),
  f('hardwareDeliveries', 'hardware_deliveries', 'exceptions delivered by hardware', 'hardware'),
  f('hardwareFaultDeliveries', 'hardware_fault_deliveries', 'of which faults', 'hardware'),
  f('physicalPortAccesses', 'physical_port_accesses', 'physical device accesses', 'hardware'),
  f('emulatedPortAccesses', 'emulated_port_accesses', 'emulated device accesses', 'hardware'),
  f('nativeFlagInstructions', 'native_flag_instructions', 'flag instructions run natively', 'hardware'),
  f('nativeControlInstructions', 'native_control_instructions', 'control-register instructions run natively', 'hardware'),
  f('idleTicks', 'idle_ticks', 'idle (halted) ticks', 'hardware'),
];

export type CounterSnapshot = Record<string, number>;

/** A counter's field in the key list. */
export function counterField(key: CounterKey): CounterField {
  const field = COUNTER_FIELDS.find((x) => x.key === key);
  if (!field) throw new Error(`no counter field ${key}`);
  return field;
}

/** The label a chart legend or a table header shows for a counter. */
export function shortLabel(key: CounterKey): string {
  const field = counterField(key);
  return field.short ?? field.label;
}
