/**
 * The VMM's software cache of VMCS fields, the way real VMMs avoid repeating VMREADs and VMWRITEs (KVM's
 * "available" and "dirty" register bits): a field is read at most once per VM exit, and a control field the VMM
 * owns is written only when its value changes. Every actual VMREAD/VMWRITE goes through the Vmcs, which counts it.
 *
 * What stays valid across an exit: control fields (only the VMM writes them), except the VM-entry
 * interruption information, whose valid bit the processor clears. Exit-information and guest-state fields are
 * rewritten by every exit and must be read again.
 */
import { FIELD_TYPE_CONTROL, fieldType, type Vmcs, VMCS } from '../hw/vmcs.js';

export class VmcsFields {
  private readonly known = new Map<number, number>();

  constructor(private readonly vmcs: Vmcs) {}

  /** The field's value: a VMREAD unless the VMM already knows it since the last exit. */
  read(encoding: number): number {
    let v = this.known.get(encoding);
    if (v === undefined) {
      v = this.vmcs.read(encoding);
      this.known.set(encoding, v);
    }
    return v;
  }

  /** VMWRITE. */
  write(encoding: number, value: number): void {
    this.vmcs.write(encoding, value);
    this.known.set(encoding, value >>> 0);
  }

  /** VMWRITE only if the field does not already hold `value` (as far as the VMM knows). */
  update(encoding: number, value: number): void {
    if (this.known.get(encoding) !== value >>> 0) this.write(encoding, value);
  }

  /** A VM exit happened: forget what the processor may have changed. */
  exited(): void {
    for (const k of [...this.known.keys()]) {
      if (fieldType(k) !== FIELD_TYPE_CONTROL || k === VMCS.ENTRY_INTERRUPTION_INFO) this.known.delete(k);
    }
  }
}
