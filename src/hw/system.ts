/**
 * System operations and exception delivery, implemented once and called by every code generator
 * (the interpreter, the block compiler) and by VMMs that emulate an instruction on a virtual CPU.
 *
 * Protocol: a system operation is called with the CPU state synchronized (cpu.pc = address of the
 * instruction, flags written back) and returns a set of SYS_* bits. It updates cpu.pc itself when the
 * instruction retires. On SYS_FAULT the instruction did not retire and machine.fault holds the exception.
 */
import {
  CR_CTRL,
  CR_ECODE,
  CR_FAULTADDR,
  CR_KSP,
  CR_PTBR,
  CR_TVB,
  CTRL_PG,
  FRAME_FLAGS,
  FRAME_MODE,
  FRAME_PC,
  FRAME_SIZE,
  FRAME_SP,
  MODE_SUPERVISOR,
  MODE_USER,
  SP,
  VALID_CRS,
  VEC_ALIGNMENT,
  VEC_INVALID_OPCODE,
  VEC_PAGE_FAULT,
  VEC_PRIVILEGE,
  vectorName,
} from '../isa/arch.js';
import type { SystemOp } from '../isa/table.js';
import { ACCESS_READ, ACCESS_WRITE, VEC_MACHINE_CHECK } from './mmu.js';
import { PORT_REPLAN } from './devices.js';
import type { Machine } from './machine.js';

export const SYS_RETIRED = 1;
/** Return to the run loop after this instruction (timing or interrupt state changed, or the machine stopped). */
export const SYS_BREAK = 2;
export const SYS_FAULT = 4;

const VALID_CR = new Uint8Array(16);
for (const n of VALID_CRS) VALID_CR[n] = 1;

export function isValidCr(n: number): boolean {
  return n >= 0 && n < 16 && VALID_CR[n] === 1;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** Why the last virtual memory access in system code failed (for triple-fault messages). */
function accessFailure(m: Machine, what: string, va: number): string {
  const f = m.fault;
  if (f.vector === VEC_MACHINE_CHECK) return `${what} at ${hex(va)}: ${f.message}`;
  if (f.vector === VEC_ALIGNMENT) return `${what} at ${hex(va)} is not 4-byte aligned`;
  const kind = (f.code & 1) === 0 ? 'not present' : 'protection violation';
  return `${what} at ${hex(va)} raised a page fault (${kind})`;
}

/** Read a word at a virtual address with the privilege of `mode`; returns null and sets m.fault on failure. */
export function readVirt32(m: Machine, va: number, mode: number): number | null {
  if ((va & 3) !== 0) {
    m.fault.set(VEC_ALIGNMENT, 0, va);
    return null;
  }
  const pa = m.mmu.translate(va, ACCESS_READ, mode);
  return pa < 0 ? null : m.mem.i32[pa >>> 2];
}

/** Write a word at a virtual address with the privilege of `mode`; returns false and sets m.fault on failure. */
export function writeVirt32(m: Machine, va: number, value: number, mode: number): boolean {
  if ((va & 3) !== 0) {
    m.fault.set(VEC_ALIGNMENT, 0, va);
    return false;
  }
  const pa = m.mmu.translate(va, ACCESS_WRITE, mode);
  if (pa < 0) return false;
  m.mem.i32[pa >>> 2] = value;
  return true;
}

/** A delivery that cannot complete: bare metal shuts down (triple fault). Kept off the delivery path itself. */
function deliveryFailed(m: Machine, vector: number, oldMode: number, retPc: number, reason: string): boolean {
  m.cpu.mode = oldMode;
  m.stop('triple-fault', `triple fault: could not deliver ${vectorName(vector)} (vector ${vector}) raised at pc ${hex(retPc)}: ${reason}`);
  return false;
}

/**
 * Deliver an exception or interrupt through the guest's trap-vector table (bare metal and VMX non-root):
 *  1. choose the stack: cr4 (KSP) when coming from user mode, else the current sp;
 *  2. switch to supervisor mode and push the frame PC, FLAGS, MODE, SP (PC at the lowest address);
 *  3. cr2 = fault address (page faults only), cr5 = error code;
 *  4. IF = 0, pc = handler from the table at cr1 + 4 * vector.
 * Any failure (frame write, table read, a zero or misaligned handler) is a triple fault: the machine stops.
 */
export function deliverException(m: Machine, vector: number, code: number, addr: number): boolean {
  const s = m.cpu;
  const R = s.regs;
  const oldFlags = s.flags();
  const oldMode = s.mode;
  const oldSp = R[SP];
  const retPc = s.pc;
  if (vector === VEC_PAGE_FAULT) s.cr[CR_FAULTADDR] = addr;
  s.cr[CR_ECODE] = code;
  const frame = ((oldMode === MODE_USER ? s.cr[CR_KSP] : oldSp) - FRAME_SIZE) | 0;
  s.mode = MODE_SUPERVISOR;
  if (
    !writeVirt32(m, frame + FRAME_PC, retPc, MODE_SUPERVISOR) ||
    !writeVirt32(m, frame + FRAME_FLAGS, oldFlags, MODE_SUPERVISOR) ||
    !writeVirt32(m, frame + FRAME_MODE, oldMode, MODE_SUPERVISOR) ||
    !writeVirt32(m, frame + FRAME_SP, oldSp, MODE_SUPERVISOR)
  ) {
    return deliveryFailed(m, vector, oldMode, retPc, accessFailure(m, 'writing the exception frame', m.fault.addr));
  }
  const entry = (s.cr[CR_TVB] + 4 * vector) | 0;
  const handler = readVirt32(m, entry, MODE_SUPERVISOR);
  if (handler === null) return deliveryFailed(m, vector, oldMode, retPc, accessFailure(m, 'reading the trap-vector entry', entry));
  if (handler === 0) return deliveryFailed(m, vector, oldMode, retPc, `the trap-vector entry at ${hex(entry)} is zero (no handler installed)`);
  if ((handler & 3) !== 0) return deliveryFailed(m, vector, oldMode, retPc, `the handler address ${hex(handler)} is not 4-byte aligned`);
  R[SP] = frame;
  s.pc = handler;
  s.iflag = 0;
  m.exceptionCounts[vector]++;
  return true;
}

// --- System instructions -------------------------------------------------------------------

function faultWith(m: Machine, vector: number, code = 0, addr = 0): number {
  m.fault.set(vector, code, addr);
  return SYS_FAULT;
}

/** Retire the instruction at cpu.pc in the current mode and advance to the next one. */
function retireNext(m: Machine): number {
  m.retire(1, m.cpu.mode);
  m.cpu.pc = (m.cpu.pc + 4) | 0;
  return SYS_RETIRED;
}

function hlt(m: Machine): number {
  const exit = m.vmxIntercept('hlt', 0, 0);
  if (exit !== 0) return exit;
  retireNext(m);
  m.halted = true;
  return SYS_RETIRED | SYS_BREAK;
}

function iret(m: Machine): number {
  const s = m.cpu;
  const R = s.regs;
  const sp = R[SP];
  const pc = readVirt32(m, sp + FRAME_PC, s.mode);
  const flags = pc === null ? null : readVirt32(m, sp + FRAME_FLAGS, s.mode);
  const mode = flags === null ? null : readVirt32(m, sp + FRAME_MODE, s.mode);
  const newSp = mode === null ? null : readVirt32(m, sp + FRAME_SP, s.mode);
  if (pc === null || flags === null || mode === null || newSp === null) return SYS_FAULT;
  if (mode !== MODE_SUPERVISOR && mode !== MODE_USER) return faultWith(m, VEC_PRIVILEGE);
  m.retire(1, s.mode);
  s.pc = pc;
  s.setFlags(flags, true);
  s.mode = mode;
  R[SP] = newSp;
  return SYS_RETIRED | (s.iflag !== 0 && m.irqPending !== 0 ? SYS_BREAK : 0);
}

function portIn(m: Machine, w: number): number {
  const port = w & 0xffff;
  const exit = m.vmxIntercept('in', port, w);
  if (exit !== 0) return exit;
  m.cpu.regs[(w >>> 20) & 15] = m.portRead(port);
  return retireNext(m);
}

function portOut(m: Machine, w: number): number {
  const port = w & 0xffff;
  const exit = m.vmxIntercept('out', port, w);
  if (exit !== 0) return exit;
  // Retire first: the device sees the clock with this instruction counted ("N instructions from now"
  // starts after the out).
  const value = m.cpu.regs[(w >>> 16) & 15];
  retireNext(m);
  const replan = m.portWrite(port, value);
  return replan === PORT_REPLAN ? SYS_RETIRED | SYS_BREAK : SYS_RETIRED;
}

function mfcr(m: Machine, w: number): number {
  const n = (w >>> 16) & 15;
  if (!isValidCr(n)) return faultWith(m, VEC_INVALID_OPCODE);
  const exit = m.vmxIntercept('mfcr', n, w);
  if (exit !== 0) return exit;
  m.cpu.regs[(w >>> 20) & 15] = m.readCr(n);
  return retireNext(m);
}

function mtcr(m: Machine, w: number): number {
  const n = (w >>> 20) & 15;
  if (!isValidCr(n)) return faultWith(m, VEC_INVALID_OPCODE);
  const exit = m.vmxIntercept('mtcr', n, w);
  if (exit !== 0) return exit;
  const brk = m.writeCr(n, m.cpu.regs[(w >>> 16) & 15]);
  retireNext(m);
  return brk ? SYS_RETIRED | SYS_BREAK : SYS_RETIRED;
}

function invlpg(m: Machine, w: number): number {
  const va = m.cpu.regs[(w >>> 16) & 15];
  const exit = m.vmxIntercept('invlpg', va, w);
  if (exit !== 0) return exit;
  m.mmu.invalidate(va);
  return retireNext(m);
}

function vmcall(m: Machine): number {
  const exit = m.vmxIntercept('vmcall', 0, 0);
  if (exit !== 0) return exit;
  return faultWith(m, VEC_INVALID_OPCODE);
}

/** Dispatch a system operation for instruction word `w` (cpu state synchronized). */
export function systemOp(m: Machine, op: SystemOp, w: number): number {
  const r = runSystemOp(m, op, w);
  // Count what this machine executed itself (not what it faulted on or handed to a VMM).
  if ((r & SYS_RETIRED) !== 0) m.sensitiveCounts[w >>> 24]++;
  return r;
}

function runSystemOp(m: Machine, op: SystemOp, w: number): number {
  switch (op) {
    case 'hlt':
      return hlt(m);
    case 'iret':
      return iret(m);
    case 'in':
      return portIn(m, w);
    case 'out':
      return portOut(m, w);
    case 'mfcr':
      return mfcr(m, w);
    case 'mtcr':
      return mtcr(m, w);
    case 'invlpg':
      return invlpg(m, w);
    case 'vmcall':
      return vmcall(m);
  }
}

/** Architectural effects of writing control register n (shared by the machine and VMM emulation). */
export function controlRegisterWriteEffects(n: number, oldValue: number, newValue: number): { flush: boolean } {
  if (n === CR_PTBR) return { flush: true };
  if (n === CR_CTRL) return { flush: ((oldValue ^ newValue) & CTRL_PG) !== 0 };
  return { flush: false };
}
