/**
 * The hypercalls of the paravirtual interface (docs/paravirt.md, section 2), executed by the hypervisor on the
 * guest's virtual machine. Each one does what the native instructions it replaces would have done to the
 * virtual CPU and devices, after validating its arguments: an unknown number or an argument that fails
 * validation returns −1 (HC_ERROR) and changes nothing.
 *
 * Guest memory is read and written through the guest's own page tables with supervisor rights (only the guest
 * kernel can make hypercalls), so a buffer the guest kernel could not reach is refused. The VMM around this
 * (strategies/paravirt.ts) retires the vmcall, counts the entry, and delivers events after the call — so
 * HC_EVENT_CHECK, HC_BLOCK and an unmasking HC_IRET only have to get the mask right.
 */
import { CR_KSP, CR_TVB, FLAG_IF, MODE_SUPERVISOR, MODE_USER, PAGE_MASK, PAGE_SIZE, PORT_DISK_CMD, SP, VEC_PRIVILEGE } from '../isa/arch.js';
import { DISK_BUSY, DISK_CMD_READ } from '../hw/devices.js';
import type { Machine } from '../hw/machine.js';
import { ACCESS_READ, ACCESS_WRITE } from '../hw/mmu.js';
import { readVirt32 } from '../hw/system.js';
import type { Counters } from '../metrics/counters.js';
import {
  DISK_REQ_BUFFER,
  DISK_REQ_CMD,
  DISK_REQ_COUNT,
  DISK_REQ_SECTOR,
  DISK_REQ_STATUS,
  HC_BLOCK,
  HC_CONSOLE_WRITE,
  HC_DISK_IO,
  HC_ERROR,
  HC_EVENT_CHECK,
  HC_IRET,
  HC_MMU_UPDATE,
  HC_MMUEXT,
  HC_MULTICALL,
  HC_PORT_IN,
  HC_PORT_OUT,
  HC_SET_SHARED,
  HC_SET_TIMER,
  HC_SET_TRAP_TABLE,
  HC_SHUTDOWN,
  HC_STACK_SWITCH,
  MMU_BATCH_MAX,
  MMUEXT_INVLPG,
  MMUEXT_NEW_BASEPTR,
  SH_SIZE,
} from './pv-abi.js';
import type { PvMmu } from './pv-mmu.js';
import type { SharedInfo } from './pv-shared.js';

/** What the hypercalls need from the hypervisor around them. */
export interface PvHost {
  readonly vm: Machine;
  readonly c: Counters;
  readonly pvMmu: PvMmu;
  readonly shared: SharedInfo;
  /** Deliver an exception into the guest kernel, as the native instruction the hypercall replaces would raise. */
  raiseGuestFault(vector: number, code: number, addr: number): void;
}

/** Hypercalls that cannot be part of a multicall: they change where the guest runs, or nest. */
const NOT_IN_MULTICALL = new Set([HC_IRET, HC_BLOCK, HC_MULTICALL]);

export class Hypercalls {
  /** Physical address of the status word of the disk request in flight, or -1. */
  private diskStatusPa = -1;
  /** Sub-calls executed inside HC_MULTICALL (they made no VMM entry of their own). */
  multicallSubcalls = 0;
  /** Did the last call fault (an exception was reflected instead of a return)? */
  faulted = false;

  constructor(private readonly h: PvHost) {}

  /**
   * Execute hypercall `n` with arguments a1..a3 (r1..r3). Returns the value for r0, or null when the call does
   * not return normally: HC_IRET (it restored every register itself), HC_SHUTDOWN, or a call that faulted.
   */
  call(n: number, a1: number, a2: number, _a3: number): number | null {
    this.faulted = false;
    switch (n) {
      case HC_CONSOLE_WRITE:
        return this.consoleWrite(a1, a2);
      case HC_SET_TRAP_TABLE:
        if ((a1 & 3) !== 0) return HC_ERROR;
        this.h.vm.cpu.cr[CR_TVB] = a1;
        return 0;
      case HC_STACK_SWITCH:
        this.h.vm.cpu.cr[CR_KSP] = a1;
        return 0;
      case HC_SET_TIMER:
        // Like `out 0x20`: the period counts from the instruction after the (retired) vmcall.
        this.h.vm.dev.timer.program(a1, this.h.vm.clock);
        return 0;
      case HC_IRET:
        this.iret();
        return null;
      case HC_BLOCK:
        // sti; hlt: unmask and sleep. The VMM's loop delivers a deliverable event at once (return address: after
        // the vmcall) and otherwise idles until one arrives — so an event already pending cannot be lost.
        this.h.shared.setMasked(false);
        this.h.vm.halted = true;
        return 0;
      case HC_MMU_UPDATE:
        return this.mmuUpdate(a1, a2);
      case HC_MMUEXT:
        if (a1 === MMUEXT_INVLPG) {
          this.h.pvMmu.invalidate(a2);
          return 0;
        }
        if (a1 === MMUEXT_NEW_BASEPTR) return this.h.pvMmu.newBaseptr(a2) ? 0 : HC_ERROR;
        return HC_ERROR;
      case HC_EVENT_CHECK:
        return 0; // the VMM's loop delivers whatever is deliverable now
      case HC_PORT_IN:
        if (a1 >>> 0 > 0xffff) return HC_ERROR;
        return this.h.vm.portRead(a1);
      case HC_PORT_OUT:
        return this.portOut(a1, a2);
      case HC_SHUTDOWN:
        // `out 0xf0`: the VMM's loop sees the power-off and stops the machine with this exit code.
        this.h.vm.dev.powerOff = true;
        this.h.vm.dev.exitCode = a1 | 0;
        return null;
      case HC_DISK_IO:
        return this.diskIo(a1);
      case HC_MULTICALL:
        return this.multicall(a1, a2);
      case HC_SET_SHARED:
        return this.setShared(a1);
      default:
        // (No hypercall takes a third argument yet; r3 and the multicall entries carry one for the ABI's sake.)
        return HC_ERROR;
    }
  }

  /** Write the status of a finished disk request (the VMM calls this after servicing the virtual devices). */
  serviceDisk(): void {
    const disk = this.h.vm.dev.disk;
    if (this.diskStatusPa < 0 || disk.status === DISK_BUSY) return;
    this.h.vm.mem.i32[this.diskStatusPa >>> 2] = disk.status;
    this.diskStatusPa = -1;
  }

  // --- The calls -------------------------------------------------------------------------------------------

  /** HC_IRET: pop the guest's r0, then the frame PC, FLAGS, MODE, SP; the mask becomes !FLAGS.IF. */
  private iret(): void {
    const vm = this.h.vm;
    const R = vm.cpu.regs;
    const sp = R[SP];
    const words: number[] = [];
    for (let i = 0; i < 5; i++) {
      const v = readVirt32(vm, (sp + 4 * i) | 0, MODE_SUPERVISOR);
      if (v === null) {
        this.faultAtVmcall(vm.fault.vector, vm.fault.code, vm.fault.addr);
        return;
      }
      words.push(v);
    }
    const [r0, pc, flags, mode, newSp] = words;
    if (mode !== MODE_SUPERVISOR && mode !== MODE_USER) {
      this.faultAtVmcall(VEC_PRIVILEGE, 0, 0); // as iret does
      return;
    }
    R[0] = r0;
    vm.cpu.pc = pc;
    vm.cpu.setFlags(flags, false);
    vm.cpu.mode = mode;
    R[SP] = newSp;
    this.h.shared.setMasked((flags & FLAG_IF) === 0);
  }

  /** A hypercall that replaces a faulting instruction faults at the vmcall (already retired, pc after it). */
  private faultAtVmcall(vector: number, code: number, addr: number): void {
    const vm = this.h.vm;
    vm.cpu.pc = (vm.cpu.pc - 4) | 0;
    this.faulted = true;
    this.h.raiseGuestFault(vector, code, addr);
  }

  /** HC_CONSOLE_WRITE: the whole buffer must be readable by the guest kernel, or nothing is written. */
  private consoleWrite(buffer: number, length: number): number {
    if (length < 0 || this.guestRange(buffer, length, () => true) === false) return HC_ERROR;
    const con = this.h.vm.dev.console;
    const mem = this.h.vm.mem.u8;
    this.guestRange(buffer, length, (pa, n) => {
      for (let i = 0; i < n; i++) con.write(mem[pa + i]);
      return true;
    });
    return length;
  }

  /** HC_MMU_UPDATE: apply (entry, value) pairs in order, each validated; stop at the first that fails. */
  private mmuUpdate(list: number, count: number): number {
    if (count < 0 || count > MMU_BATCH_MAX) return HC_ERROR;
    this.h.c.batch('HC_MMU_UPDATE', count);
    for (let k = 0; k < count; k++) {
      const entry = this.read(list + 8 * k);
      const value = this.read(list + 8 * k + 4);
      if (entry === null || value === null || !this.h.pvMmu.update(entry, value)) return HC_ERROR;
    }
    return 0;
  }

  /** HC_MULTICALL: (number, r1, r2, r3) entries, all executed in this one entry. Results are not returned. */
  private multicall(list: number, count: number): number {
    if (count < 0 || count > MMU_BATCH_MAX) return HC_ERROR;
    this.h.c.batch('HC_MULTICALL', count);
    for (let k = 0; k < count; k++) {
      const at = list + 16 * k;
      const n = this.read(at);
      const a1 = this.read(at + 4);
      const a2 = this.read(at + 8);
      const a3 = this.read(at + 12);
      if (n === null || a1 === null || a2 === null || a3 === null) return HC_ERROR;
      if (NOT_IN_MULTICALL.has(n) || n < 0 || n > HC_SET_SHARED) return HC_ERROR;
      this.multicallSubcalls++;
      this.call(n, a1, a2, a3);
      if (this.h.vm.dev.powerOff || this.h.vm.status !== 'running') break;
    }
    return 0;
  }

  private portOut(port: number, value: number): number {
    if (port >>> 0 > 0xffff) return HC_ERROR;
    const vm = this.h.vm;
    const disk = vm.dev.disk;
    // The disk's DMA must not write the hypervisor's page tables (HC_DISK_IO checks the same).
    if (port === PORT_DISK_CMD && value === DISK_CMD_READ && this.h.pvMmu.touchesPageTables(disk.addr >>> 0, (disk.count >>> 0) * 512)) {
      return HC_ERROR;
    }
    vm.portWrite(port, value);
    return 0;
  }

  /**
   * HC_DISK_IO: the request block is cmd, sector, count, buffer (physical), status. The transfer may only move
   * guest RAM and never write a page-table page; completion writes the status word and raises the disk event.
   */
  private diskIo(request: number): number {
    const vm = this.h.vm;
    const cmd = this.read(request + DISK_REQ_CMD);
    const sector = this.read(request + DISK_REQ_SECTOR);
    const count = this.read(request + DISK_REQ_COUNT);
    const buffer = this.read(request + DISK_REQ_BUFFER);
    const statusPa = this.translate(request + DISK_REQ_STATUS, ACCESS_WRITE);
    if (cmd === null || sector === null || count === null || buffer === null || statusPa < 0 || (statusPa & 3) !== 0) return HC_ERROR;
    const mmu = this.h.pvMmu;
    const bytes = (count >>> 0) * 512;
    if (!mmu.inRam(buffer >>> 0, bytes) || mmu.touchesPageTables(statusPa, 4)) return HC_ERROR;
    if (cmd === DISK_CMD_READ && mmu.touchesPageTables(buffer >>> 0, bytes)) return HC_ERROR;
    const disk = vm.dev.disk;
    if (disk.status === DISK_BUSY) return HC_ERROR;
    disk.sector = sector;
    disk.addr = buffer;
    disk.count = count;
    disk.irqEnabled = 1;
    // A bad command or sector range is the device's business, as natively: it completes with status 2 (error).
    disk.start(cmd, vm.clock);
    vm.mem.i32[statusPa >>> 2] = DISK_BUSY;
    this.diskStatusPa = statusPa;
    return 0;
  }

  /** HC_SET_SHARED: the page must be the guest kernel's, writable, and not a page table. */
  private setShared(va: number): number {
    if ((va & 3) !== 0 || (va & PAGE_MASK) + SH_SIZE > PAGE_SIZE) return HC_ERROR;
    const pa = this.translate(va, ACCESS_WRITE);
    if (pa < 0 || this.h.pvMmu.touchesPageTables(pa, SH_SIZE)) return HC_ERROR;
    this.h.shared.register(pa);
    return 0;
  }

  // --- Guest memory, through the guest's own tables with supervisor rights --------------------------------

  private read(va: number): number | null {
    return readVirt32(this.h.vm, va | 0, MODE_SUPERVISOR);
  }

  private translate(va: number, access: typeof ACCESS_READ | typeof ACCESS_WRITE): number {
    return this.h.vm.mmu.translate(va | 0, access, MODE_SUPERVISOR, true);
  }

  /**
   * Walk the guest-virtual range [va, va + length) page by page, calling `each` with the physical address and
   * length of every piece. False if some page is not readable by the guest kernel (or `each` says stop).
   */
  private guestRange(va: number, length: number, each: (pa: number, n: number) => boolean): boolean {
    let done = 0;
    while (done < length) {
      const a = (va + done) | 0;
      const pa = this.translate(a, ACCESS_READ);
      if (pa < 0) return false;
      const n = Math.min(length - done, PAGE_SIZE - (a & PAGE_MASK));
      if (!each(pa, n)) return false;
      done += n;
    }
    return true;
  }
}
