/**
 * The nested page table of the `vtx-ept` configuration (Intel's EPT, AMD's NPT): the VMM's map from
 * guest-physical to host-physical addresses, walked by the hardware after (and during) every walk of the guest's
 * own page tables (src/hw/mmu.ts `nested`).
 *
 * virtstrat's nested table has the guest tables' two-level format (a directory of 1,024 entries, tables of 1,024,
 * present and writable bits), so a 2-D walk costs (2+1)(2+1) - 1 = 8 memory references. It lives in frames only
 * the VMM owns. Guest RAM is identity-mapped — guest-physical page g is host-physical page g — but lazily, the way
 * KVM faults guest memory in: the table starts empty and each guest-physical page is mapped on its first EPT
 * violation. A guest-physical address beyond the guest's RAM is never mapped (that is bare metal's machine check),
 * and nothing maps the VMM's own frames: whatever the guest writes into its page tables, the hardware can only
 * reach the guest's allocation.
 */
import { PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, PTE_P, PTE_W } from '../isa/arch.js';
import type { PhysicalMemory } from '../hw/memory.js';
import type { FrameAllocator } from './platform.js';

export class NestedPageTable {
  /** Host-physical address of the directory (the EPT pointer). */
  readonly root: number;
  /** Guest-physical pages mapped so far. */
  mappedPages = 0;
  /** Frames of the VMM's memory the table uses (directory included). */
  framesUsed = 1;

  constructor(
    private readonly mem: PhysicalMemory,
    private readonly frames: FrameAllocator,
    /** Bytes of guest RAM: the guest-physical addresses that can be mapped. */
    readonly guestRam: number,
  ) {
    this.root = this.zeroedFrame();
  }

  /** Does guest-physical `gpa` belong to the guest's RAM (and so can be mapped)? */
  inGuestRam(gpa: number): boolean {
    return gpa >>> 0 < this.guestRam;
  }

  /** Map the page holding guest-physical `gpa` to the same host-physical page, readable and writable. */
  map(gpa: number): void {
    if (!this.inGuestRam(gpa)) throw new RangeError(`guest-physical 0x${(gpa >>> 0).toString(16)} is outside guest RAM`);
    const i32 = this.mem.i32;
    const pdeIndex = (this.root >>> 2) + (gpa >>> 22);
    if ((i32[pdeIndex] & PTE_P) === 0) {
      i32[pdeIndex] = this.zeroedFrame() | PTE_P | PTE_W;
      this.framesUsed++;
    }
    const pteIndex = ((i32[pdeIndex] & ~PAGE_MASK) >>> 2) + ((gpa >>> PAGE_SHIFT) & 0x3ff);
    if ((i32[pteIndex] & PTE_P) === 0) this.mappedPages++;
    i32[pteIndex] = (gpa & ~PAGE_MASK) | PTE_P | PTE_W;
  }

  private zeroedFrame(): number {
    const frame = this.frames.alloc();
    this.mem.u8.fill(0, frame, frame + PAGE_SIZE);
    return frame;
  }
}
