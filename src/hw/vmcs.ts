/**
 * The VMCS (virtual-machine control structure) of virtstrat's VT-x model: its fields, addressed by Intel's
 * encodings (SDM Vol. 3C, appendix B), the control bits and basic exit reasons (appendix C), and the formats of
 * the interruption-information and exit-qualification fields.
 *
 * Where x86 has a counterpart, the field has Intel's encoding. Guest state that x86 keeps outside the VMCS has a
 * clearly marked virtstrat field (prefix VS_): the guest's mode (x86 derives the CPL from the CS/SS access rights),
 * cr2 (not in the VMCS on x86), ksp (TSS.esp0, in guest memory on x86), ecode (pushed on the stack on x86) and the
 * virtual TPR (VTPR at offset 0x80 of the virtual-APIC page on x86). Their encodings follow Intel's scheme for
 * natural-width guest-state fields, at indexes Intel does not use.
 *
 * Accesses: `read`/`write` are the VMM's VMREAD/VMWRITE instructions and are counted (the cost model prices each
 * one); `get`/`set` are the processor's own accesses during VM entry and exit, part of the transition and never
 * counted; `peek` is for instruments (traces, the final state shown to the fidelity oracle), also not counted.
 */

/** Field encodings. */
export const VMCS = {
  // 64-bit control fields
  IO_BITMAP_A: 0x2000,
  IO_BITMAP_B: 0x2002,
  /** EPT pointer: the (host-physical) root of the nested page table. */
  EPT_POINTER: 0x201a,
  // 64-bit read-only data fields
  GUEST_PHYSICAL_ADDRESS: 0x2400,
  // 32-bit control fields
  PIN_BASED_CONTROLS: 0x4000,
  PROCESSOR_CONTROLS: 0x4002,
  EXCEPTION_BITMAP: 0x4004,
  ENTRY_INTERRUPTION_INFO: 0x4016,
  ENTRY_EXCEPTION_ERROR_CODE: 0x4018,
  TPR_THRESHOLD: 0x401c,
  SECONDARY_PROCESSOR_CONTROLS: 0x401e,
  // 32-bit read-only data fields
  VM_INSTRUCTION_ERROR: 0x4400,
  EXIT_REASON: 0x4402,
  EXIT_INTERRUPTION_INFO: 0x4404,
  EXIT_INTERRUPTION_ERROR_CODE: 0x4406,
  IDT_VECTORING_INFO: 0x4408,
  IDT_VECTORING_ERROR_CODE: 0x440a,
  EXIT_INSTRUCTION_LENGTH: 0x440c,
  // 32-bit guest-state fields
  GUEST_INTERRUPTIBILITY: 0x4824,
  GUEST_ACTIVITY_STATE: 0x4826,
  // natural-width control fields
  CR0_GUEST_HOST_MASK: 0x6000,
  CR0_READ_SHADOW: 0x6004,
  // natural-width read-only data fields
  EXIT_QUALIFICATION: 0x6400,
  GUEST_LINEAR_ADDRESS: 0x640a,
  // natural-width guest-state fields
  GUEST_CR0: 0x6800,
  GUEST_CR3: 0x6802,
  /** Our trap-vector base (cr1, tvb) is x86's IDTR base. */
  GUEST_IDTR_BASE: 0x6818,
  /** r15, the stack pointer (the other general registers are saved by the VMM's exit stub, as on x86). */
  GUEST_RSP: 0x681c,
  GUEST_RIP: 0x681e,
  GUEST_RFLAGS: 0x6820,
  // virtstrat-specific guest-state fields (natural width, type guest state, indexes 0x40..0x44)
  /** virtstrat: the guest's mode, 0 supervisor / 1 user (x86: the CPL in the CS and SS access rights). */
  VS_GUEST_MODE: 0x6880,
  /** virtstrat: the guest's cr2 (faultaddr); x86 keeps CR2 outside the VMCS. */
  VS_GUEST_FAULT_ADDRESS: 0x6882,
  /** virtstrat: the guest's cr4 (ksp); x86 keeps it in the TSS (esp0), in guest memory. */
  VS_GUEST_KSP: 0x6884,
  /** virtstrat: the guest's cr5 (ecode); x86 pushes the error code on the stack instead. */
  VS_GUEST_ECODE: 0x6886,
  /** virtstrat: the virtual TPR used with "use TPR shadow" (x86: VTPR in the virtual-APIC page); 0..15. */
  VS_VIRTUAL_TPR: 0x6888,
} as const;

export const VMCS_FIELD_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(VMCS).map(([k, v]) => [v, k]));

/** The field's type from its encoding (bits 11:10): 0 control, 1 read-only data (exit information), 2 guest state, 3 host state. */
export function fieldType(encoding: number): number {
  return (encoding >>> 10) & 3;
}

export const FIELD_TYPE_CONTROL = 0;
export const FIELD_TYPE_EXIT_INFO = 1;
export const FIELD_TYPE_GUEST = 2;

/** Pin-based VM-execution controls. */
export const PIN_EXTERNAL_INTERRUPT_EXITING = 1 << 0;

/** Primary processor-based VM-execution controls (the bits virtstrat implements). */
export const CPU_INTERRUPT_WINDOW_EXITING = 1 << 2;
export const CPU_HLT_EXITING = 1 << 7;
export const CPU_INVLPG_EXITING = 1 << 9;
export const CPU_CR3_LOAD_EXITING = 1 << 15;
export const CPU_CR3_STORE_EXITING = 1 << 16;
export const CPU_CR8_LOAD_EXITING = 1 << 19;
export const CPU_CR8_STORE_EXITING = 1 << 20;
export const CPU_USE_TPR_SHADOW = 1 << 21;
export const CPU_UNCONDITIONAL_IO_EXITING = 1 << 24;
export const CPU_USE_IO_BITMAPS = 1 << 25;
/** Primary control bit 31: use the secondary processor-based controls. */
export const CPU_ACTIVATE_SECONDARY_CONTROLS = 1 << 31;
/** Secondary processor-based VM-execution controls. */
export const CPU2_ENABLE_EPT = 1 << 1;
export const CPU2_ENABLE_VPID = 1 << 5;

export const CONTROL_NAMES: Readonly<Record<number, string>> = {
  [CPU_INTERRUPT_WINDOW_EXITING]: 'interrupt-window exiting',
  [CPU_HLT_EXITING]: 'HLT exiting',
  [CPU_INVLPG_EXITING]: 'INVLPG exiting',
  [CPU_CR3_LOAD_EXITING]: 'CR3-load exiting',
  [CPU_CR3_STORE_EXITING]: 'CR3-store exiting',
  [CPU_CR8_LOAD_EXITING]: 'CR8-load exiting',
  [CPU_CR8_STORE_EXITING]: 'CR8-store exiting',
  [CPU_USE_TPR_SHADOW]: 'use TPR shadow',
  [CPU_UNCONDITIONAL_IO_EXITING]: 'unconditional I/O exiting',
  [CPU_USE_IO_BITMAPS]: 'use I/O bitmaps',
  [CPU_ACTIVATE_SECONDARY_CONTROLS]: 'activate secondary controls',
};

/** The names of the secondary processor-based controls virtstrat models. */
export const SECONDARY_CONTROL_NAMES: Readonly<Record<number, string>> = {
  [CPU2_ENABLE_EPT]: 'enable EPT',
  [CPU2_ENABLE_VPID]: 'enable VPID',
};

/** The names of the controls set in a primary processor-based controls value. */
export function controlNames(value: number, names: Readonly<Record<number, string>> = CONTROL_NAMES): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const name = names[(1 << bit) | 0];
    if ((value & (1 << bit)) !== 0 && name) out.push(name);
  }
  return out;
}

/** Basic exit reasons (Intel's numbers). */
export const EXIT_EXCEPTION_OR_NMI = 0;
export const EXIT_EXTERNAL_INTERRUPT = 1;
export const EXIT_TRIPLE_FAULT = 2;
export const EXIT_INTERRUPT_WINDOW = 7;
export const EXIT_HLT = 12;
export const EXIT_INVLPG = 14;
export const EXIT_VMCALL = 18;
export const EXIT_CR_ACCESS = 28;
export const EXIT_IO_INSTRUCTION = 30;
export const EXIT_TPR_BELOW_THRESHOLD = 43;
export const EXIT_EPT_VIOLATION = 48;

export const EXIT_REASON_NAMES: Readonly<Record<number, string>> = {
  [EXIT_EXCEPTION_OR_NMI]: 'exception',
  [EXIT_EXTERNAL_INTERRUPT]: 'external interrupt',
  [EXIT_TRIPLE_FAULT]: 'triple fault',
  [EXIT_INTERRUPT_WINDOW]: 'interrupt window',
  [EXIT_HLT]: 'HLT',
  [EXIT_INVLPG]: 'INVLPG',
  [EXIT_VMCALL]: 'VMCALL',
  [EXIT_CR_ACCESS]: 'control-register access',
  [EXIT_IO_INSTRUCTION]: 'I/O instruction',
  [EXIT_TPR_BELOW_THRESHOLD]: 'TPR below threshold',
  [EXIT_EPT_VIOLATION]: 'EPT violation',
};

/**
 * EPT-violation qualification: bit 0 read, bit 1 write, bit 2 instruction fetch; bit 7: the guest-linear address
 * is valid; bit 8 (with bit 7): the access was to the final translation, not to a guest page-table entry.
 */
export const EPT_QUAL_READ = 1;
export const EPT_QUAL_WRITE = 2;
export const EPT_QUAL_FETCH = 4;
export const EPT_QUAL_LINEAR_VALID = 1 << 7;
export const EPT_QUAL_FINAL_TRANSLATION = 1 << 8;

/** Interruption-information format (VM-entry, VM-exit and IDT-vectoring): vector 7:0, type 10:8, error code 11, valid 31. */
export const INTR_VALID = 0x80000000;
export const INTR_ERROR_CODE_VALID = 1 << 11;
export const INTR_TYPE_EXTERNAL = 0;
export const INTR_TYPE_HARDWARE_EXCEPTION = 3;
export const INTR_TYPE_SOFTWARE_INTERRUPT = 4;

export function interruptionInfo(vector: number, type: number, errorCode: boolean): number {
  return ((vector & 0xff) | ((type & 7) << 8) | (errorCode ? INTR_ERROR_CODE_VALID : 0) | INTR_VALID) >>> 0;
}

export function infoVector(info: number): number {
  return info & 0xff;
}

export function infoType(info: number): number {
  return (info >>> 8) & 7;
}

export function infoValid(info: number): boolean {
  return (info & INTR_VALID) !== 0;
}

/** Guest interruptibility state: blocking by STI (bit 0). */
export const INTERRUPTIBILITY_STI = 1;

/** Guest activity state. */
export const ACTIVITY_ACTIVE = 0;
export const ACTIVITY_HLT = 1;

/** Exit qualification of an I/O exit: size - 1 in bits 2:0, direction in bit 3 (1 = in), port in bits 31:16. */
export function ioQualification(port: number, isIn: boolean, size = 4): number {
  return ((size - 1) | (isIn ? 8 : 0) | ((port & 0xffff) << 16)) >>> 0;
}

/** Exit qualification of a control-register access: CR number 3:0, access type 5:4 (0 mov to CR, 1 mov from CR), GPR 11:8. */
export const CR_ACCESS_MOV_TO = 0;
export const CR_ACCESS_MOV_FROM = 1;

export function crQualification(cr: number, access: number, gpr: number): number {
  return ((cr & 15) | ((access & 3) << 4) | ((gpr & 15) << 8)) >>> 0;
}

/** A VMX instruction failed (VMfailValid): an unsupported field, a write to a read-only one, an invalid entry. */
export class VmxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VmxError';
  }
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** One VMCS: every supported field, initialized to 0 (as after VMCLEAR). Values are unsigned 32-bit. */
export class Vmcs {
  private readonly fields = new Map<number, number>();
  /** VMREAD and VMWRITE instructions executed (the VMM's accesses). */
  reads = 0;
  writes = 0;

  constructor() {
    for (const enc of Object.values(VMCS)) this.fields.set(enc, 0);
  }

  /** VMREAD: counted. */
  read(encoding: number): number {
    this.reads++;
    return this.get(encoding);
  }

  /** VMWRITE: counted. Read-only (exit-information) fields cannot be written, as on the processors of 2006. */
  write(encoding: number, value: number): void {
    if (fieldType(encoding) === FIELD_TYPE_EXIT_INFO) {
      throw new VmxError(`VMWRITE to the read-only field ${this.name(encoding)}`);
    }
    this.writes++;
    this.set(encoding, value);
  }

  /** The processor's own access during VM entry or exit (not an instruction, not counted). */
  get(encoding: number): number {
    const v = this.fields.get(encoding);
    if (v === undefined) throw new VmxError(`unsupported VMCS field ${hex(encoding)}`);
    return v;
  }

  set(encoding: number, value: number): void {
    if (!this.fields.has(encoding)) throw new VmxError(`unsupported VMCS field ${hex(encoding)}`);
    this.fields.set(encoding, value >>> 0);
  }

  /** An instrument's look at a field (traces, the final state for the fidelity oracle): not counted. */
  peek(encoding: number): number {
    return this.get(encoding);
  }

  name(encoding: number): string {
    return VMCS_FIELD_NAMES.get(encoding) ?? hex(encoding);
  }
}
