/**
 * vtx and vtx-ept — hardware-assisted virtualization. The unmodified guest kernel runs directly in VMX non-root
 * supervisor mode: cli, sti, pushf, popf and rdmode act on the guest's own state, system calls and faults go
 * straight to the guest kernel. Only what the VMCS controls select exits to the VMM (src/vmm/vtx-vmm.ts): port
 * I/O, hlt, the physical timer, and the interrupt-window and TPR-threshold exits used to inject virtual
 * interrupts exactly on time — plus the memory exits of its paging mode:
 *   - `vtx`, first generation (2006): shadow page tables, so CR3 loads, page faults (hidden, true and traced
 *     page-table writes) and invlpg exit;
 *   - `vtx-ept`, second generation (2008): nested paging with VPID, so only EPT violations exit, and every TLB
 *     miss costs a two-dimensional walk.
 * They are one VMM with its `nestedPaging` setting fixed per configuration (not an engine option: a run labelled
 * `vtx-ept` always has nested paging); the registry lists both so the benchmark matrix shows them side by side.
 */
import { withRecycledMemory } from '../src/hw/memory.js';
import { DEFAULT_VTX_OPTIONS, VtxVmm, type VtxOptions } from '../src/vmm/vtx-vmm.js';
import type { Engine, EngineOptionSpec, RunSpec } from './engine.js';

type ControlName = Exclude<keyof VtxOptions, 'nestedPaging'>;

/** The execution controls a user may change (`--option NAME=VALUE`); the paging mode is the configuration's. */
const OPTIONS: readonly (EngineOptionSpec & { readonly name: ControlName })[] = [
  {
    name: 'hltExiting',
    help: 'HLT exiting: a guest hlt exits (reason 12); off, the CPU halts in non-root operation until the physical timer exits (reason 1)',
    default: DEFAULT_VTX_OPTIONS.hltExiting,
  },
  {
    name: 'tprShadow',
    help: 'use TPR shadow: cr8 reads and writes act on the virtual TPR without exiting (reason 43 only when it drops below a waiting interrupt); off, every cr8 access exits (reason 28)',
    default: DEFAULT_VTX_OPTIONS.tprShadow,
  },
  {
    name: 'ioBitmap',
    help: "use I/O bitmaps that mark the virtual devices' ports, instead of unconditional I/O exiting",
    default: DEFAULT_VTX_OPTIONS.ioBitmap,
  },
];

function vtxConfiguration(id: string, title: string, summary: string, nestedPaging: boolean): Engine {
  const defaults: VtxOptions = { ...DEFAULT_VTX_OPTIONS, nestedPaging };
  const optionsOf = (spec: RunSpec): VtxOptions => {
    const flag = (name: ControlName): boolean => {
      const v = spec.options[name];
      return typeof v === 'boolean' ? v : defaults[name];
    };
    return { hltExiting: flag('hltExiting'), tprShadow: flag('tprShadow'), ioBitmap: flag('ioBitmap'), nestedPaging };
  };
  return {
    id,
    title,
    summary,
    guest: 'native',
    faithfulOn: ['default', 'classic'],
    options: OPTIONS.map((o) => ({ ...o, default: defaults[o.name] })),
    run(spec) {
      return withRecycledMemory(() => new VtxVmm(spec, optionsOf(spec)).run());
    },
  };
}

export const vtx: Engine = vtxConfiguration(
  'vtx',
  'hardware-assisted (VT-x)',
  'The unmodified guest kernel runs in VMX non-root supervisor mode; only the VM exits its VMCS controls select reach the VMM, which emulates devices and keeps shadow page tables (first-generation VT-x).',
  false,
);

export const vtxEpt: Engine = vtxConfiguration(
  'vtx-ept',
  'hardware-assisted with nested paging (VT-x + EPT)',
  'As vtx, but with nested paging and VPID: the guest owns its page tables, page faults and cr3; only EPT violations exit for memory, and each TLB miss costs a two-dimensional walk.',
  true,
);
