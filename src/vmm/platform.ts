/**
 * The two machines every VMM works with.
 *
 *  - `phys`: the physical machine. Its memory is the guest's RAM followed by frames only the VMM uses (for
 *    shadow page tables). The guest runs on it directly, deprivileged, with exceptions routed to the VMM.
 *  - `vm`: the VMM's software model of the guest's virtual machine — the virtual CPU (virtual mode, virtual
 *    IF, virtual control registers), the virtual devices, and a software MMU over the guest's own page tables.
 *    It shares the guest RAM with `phys`. Emulating a trapped instruction is `vm.step()`: the same hardware
 *    semantics, applied to the virtual CPU.
 *
 * The world switch copies the unprivileged state (registers, pc, condition flags) between the two CPUs.
 */
import { MODE_USER, PAGE_SIZE } from '../isa/arch.js';
import type { CpuState } from '../hw/cpu.js';
import { Machine } from '../hw/machine.js';
import { PhysicalMemory } from '../hw/memory.js';
import { diskSectorsFor } from '../run/reference.js';
import type { RunSpec } from '../../strategies/engine.js';

/** Physical memory the VMM keeps for itself, above guest RAM. */
export const VMM_RESERVED_BYTES = 4 * 1024 * 1024;

/** Frames of the VMM's own memory (above guest RAM). */
export class FrameAllocator {
  private readonly free: number[] = [];

  constructor(
    readonly start: number,
    readonly end: number,
  ) {
    for (let a = end - PAGE_SIZE; a >= start; a -= PAGE_SIZE) this.free.push(a);
  }

  alloc(): number {
    const f = this.free.pop();
    if (f === undefined) throw new Error(`the VMM ran out of its own memory (${(this.end - this.start) / PAGE_SIZE} frames)`);
    return f;
  }

  release(frame: number): void {
    this.free.push(frame);
  }

  get available(): number {
    return this.free.length;
  }
}

export class GuestPlatform {
  readonly phys: Machine;
  readonly vm: Machine;
  readonly vmmFrames: FrameAllocator;

  constructor(spec: RunSpec, physIsa = spec.isa) {
    const ram = spec.memoryBytes;
    const physMemory = new PhysicalMemory(ram + VMM_RESERVED_BYTES);
    const guestRam = physMemory.view(ram);
    guestRam.load(spec.image, 0);
    // The guest runs directly on the physical machine: with the compiled fast path unless asked otherwise.
    this.phys = new Machine({ memory: physMemory, isa: physIsa, execution: spec.execution ?? 'compiled' });
    this.vm = new Machine({ memory: guestRam, isa: spec.isa, diskSectors: diskSectorsFor(spec.disk) });
    if (spec.disk) this.vm.dev.disk.data.set(spec.disk);
    this.phys.routing = 'monitor';
    this.vmmFrames = new FrameAllocator(ram, ram + VMM_RESERVED_BYTES);
  }

  /** The guest's virtual mode. */
  get userMode(): boolean {
    return this.vm.cpu.mode === MODE_USER;
  }
}

/** The unprivileged state a world switch moves: registers, pc and the (lazy) condition flags. */
function copyUnprivilegedState(to: CpuState, from: CpuState): void {
  to.regs.set(from.regs);
  to.pc = from.pc;
  to.fa = from.fa;
  to.fb = from.fb;
  to.fk = from.fk;
}

/** World switch, VMM -> guest: load the guest's unprivileged state into the physical CPU. */
export function loadGuestState(phys: CpuState, v: CpuState): void {
  copyUnprivilegedState(phys, v);
}

/** World switch, guest -> VMM: save the physical CPU's unprivileged state into the virtual CPU. */
export function saveGuestState(phys: CpuState, v: CpuState): void {
  copyUnprivilegedState(v, phys);
}
