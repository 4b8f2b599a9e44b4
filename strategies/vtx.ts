/**
 * vtx — hardware-assisted virtualization, first-generation VT-x (no nested paging). The unmodified guest kernel
 * runs directly in VMX non-root supervisor mode: cli, sti, pushf, popf and rdmode act on the guest's own state,
 * system calls and faults go straight to the guest kernel. Only what the VMCS controls select exits to the VMM
 * (src/vmm/vtx-vmm.ts): port I/O, hlt, CR3 loads, page faults on the shadow page tables, invlpg, the physical
 * timer, and the interrupt-window and TPR-threshold exits used to inject virtual interrupts exactly on time.
 */
import { DEFAULT_VTX_OPTIONS, VtxVmm, type VtxOptions } from '../src/vmm/vtx-vmm.js';
import type { Engine, RunSpec } from './engine.js';

function optionsOf(spec: RunSpec): VtxOptions {
  const flag = (name: keyof VtxOptions): boolean => {
    const v = spec.options[name];
    return typeof v === 'boolean' ? v : DEFAULT_VTX_OPTIONS[name];
  };
  return { hltExiting: flag('hltExiting'), tprShadow: flag('tprShadow'), ioBitmap: flag('ioBitmap') };
}

export const vtx: Engine = {
  id: 'vtx',
  title: 'hardware-assisted (VT-x)',
  summary:
    'The unmodified guest kernel runs in VMX non-root supervisor mode; only the VM exits its VMCS controls select reach the VMM, which emulates devices and keeps shadow page tables.',
  guest: 'native',
  options: [
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
  ],
  run(spec) {
    return new VtxVmm(spec, optionsOf(spec)).run();
  },
};
