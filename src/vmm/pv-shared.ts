/**
 * The shared-info page: the paravirtual guest's virtual IF (inverted, SH_MASK), its pending-event flag, its
 * virtual task priority and the fault registers, in a page of guest memory that guest and hypervisor both
 * read and write (Xen's vcpu_info: evtchn_upcall_mask / evtchn_upcall_pending). The guest masks and unmasks
 * events with plain stores — no hypervisor entry — and the hypervisor reads the mask whenever it wants to
 * deliver an event.
 *
 * The hypervisor translates the page's guest-virtual address once, at HC_SET_SHARED, and from then on uses the
 * physical frame (as Xen uses the shared-info machine frame). Until the guest registers a page, the state lives
 * here, starting masked: the virtual CPU starts with IF = 0, as the hardware does at reset (and Xen starts a
 * vCPU with its upcall mask set).
 */
import type { PhysicalMemory } from '../hw/memory.js';
import { SH_CR2, SH_ECODE, SH_MASK, SH_PENDING, SH_TPR } from './pv-abi.js';

export class SharedInfo {
  /** Physical address of the registered page, or -1. */
  private pa = -1;
  // The state while no page is registered.
  private mask = 1;
  private pending = 0;
  private tpr = 0;

  constructor(private readonly mem: PhysicalMemory) {}

  get registered(): boolean {
    return this.pa >= 0;
  }

  get address(): number {
    return this.pa;
  }

  /** Register the page at physical address `pa`: it takes over the current state. */
  register(pa: number): void {
    const mask = this.masked ? 1 : 0;
    const pending = this.pendingFlag ? 1 : 0;
    const tpr = this.priority;
    this.pa = pa;
    this.write(SH_MASK, mask);
    this.write(SH_PENDING, pending);
    this.write(SH_TPR, tpr);
  }

  /** Events masked (the virtual IF is 0)? Any non-zero SH_MASK masks, as any non-zero IF bit enables. */
  get masked(): boolean {
    return (this.pa < 0 ? this.mask : this.read(SH_MASK)) !== 0;
  }

  setMasked(masked: boolean): void {
    if (this.pa < 0) this.mask = masked ? 1 : 0;
    else this.write(SH_MASK, masked ? 1 : 0);
  }

  get pendingFlag(): boolean {
    return (this.pa < 0 ? this.pending : this.read(SH_PENDING)) !== 0;
  }

  /** Tell the guest whether an event is waiting (only written when it changes, like a real flag). */
  setPending(pending: boolean): void {
    const v = pending ? 1 : 0;
    if (this.pa < 0) this.pending = v;
    else if (this.read(SH_PENDING) !== v) this.write(SH_PENDING, v);
  }

  /** The virtual task priority, 0..15 (as cr8 keeps only 4 bits). */
  get priority(): number {
    return (this.pa < 0 ? this.tpr : this.read(SH_TPR)) & 15;
  }

  /** What delivering an exception writes besides the frame: the fault address and the error code. */
  setFault(cr2: number, ecode: number): void {
    if (this.pa < 0) return;
    this.write(SH_CR2, cr2);
    this.write(SH_ECODE, ecode);
  }

  private read(offset: number): number {
    return this.mem.i32[(this.pa + offset) >>> 2];
  }

  private write(offset: number, value: number): void {
    this.mem.i32[(this.pa + offset) >>> 2] = value;
  }
}
