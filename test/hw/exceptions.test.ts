/**
 * Exception delivery, iret, timer interrupts at exact instruction counts, page faults, and the machine's
 * terminal statuses — with small assembled programs on the bare machine.
 */
import { describe, expect, it } from 'vitest';
import { FLAG_IF, PF_PROTECTION, PF_USER, PF_WRITE } from '../../src/isa/arch.js';
import { peek, runAsm } from '../support/machine.js';

const LOG = 0x40000;

/** Sets sp, the vector table (entries filled by the caller with .org) and ksp. */
const PRELUDE = `
        .equ LOG, ${LOG}
        .equ KSTACK, 0x30000
        .equ USTACK, 0x28000
        li   sp, 0x20000
        li   r1, vectors
        mtcr tvb, r1
        li   r1, KSTACK
        mtcr ksp, r1
`;

/** A vector table at 0x8000 with the given handlers. */
function vectors(entries: Record<number, string>): string {
  const lines = Object.entries(entries)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([v, h]) => `        .org vectors + ${Number(v) * 4}\n        .word ${h}`);
  return `        .org 0x8000\nvectors:\n${lines.join('\n')}\n`;
}

describe('exception delivery and iret', () => {
  it('a syscall from user mode switches to ksp, pushes PC/FLAGS/MODE/SP, clears IF, and iret returns to user mode', () => {
    const { r, m, sym } = runAsm(`${PRELUDE}
        ; enter user mode with an iret frame: PC, FLAGS (IF=1), MODE=1, SP
        li   r1, USTACK
        push r1
        movi r1, 1
        push r1
        li   r1, ${FLAG_IF}
        push r1
        li   r1, user
        push r1
        iret
user:   movi r5, 42
        syscall
after:  movi r6, 7
        syscall
handler:
        li   r2, LOG
        ldw  r3, [sp]
        stw  r3, [r2]          ; saved PC
        ldw  r3, [sp + 4]
        stw  r3, [r2 + 4]      ; saved FLAGS
        ldw  r3, [sp + 8]
        stw  r3, [r2 + 8]      ; saved MODE
        ldw  r3, [sp + 12]
        stw  r3, [r2 + 12]     ; saved SP
        stw  sp, [r2 + 16]     ; sp in the handler
        rdmode r3
        stw  r3, [r2 + 20]     ; mode in the handler
        pushf
        pop  r3
        stw  r3, [r2 + 24]     ; FLAGS in the handler
        cmpi r6, 7
        beq  exit
        iret
exit:   out  0xf0, r5
${vectors({ 0x80: 'handler' })}`);
    expect(r.status).toBe('exited');
    expect(r.exitCode).toBe(42); // r5 set in user mode survived the round trip
    // The log holds the second syscall's frame (the handler overwrites it): its PC is after that syscall.
    expect(peek(m, LOG)).toBe(sym('handler'));
    expect(peek(m, LOG + 4)).toBe(FLAG_IF); // user FLAGS: IF on, no condition flags yet
    expect(peek(m, LOG + 8)).toBe(1); // came from user mode
    expect(peek(m, LOG + 12)).toBe(0x28000); // user sp
    expect(peek(m, LOG + 16)).toBe(0x30000 - 16); // frame pushed on the kernel stack from ksp
    expect(peek(m, LOG + 20)).toBe(0); // handler runs in supervisor mode
    expect(peek(m, LOG + 24) & FLAG_IF).toBe(0); // with interrupts disabled
    expect(r.counters.exceptions).toEqual({ syscall: 2 });
    expect(r.counters.userInstructions).toBe(4); // movi, syscall, movi, syscall
  });

  it('a fault returns to the faulting instruction; the handler can skip it', () => {
    const { r } = runAsm(`${PRELUDE}
        movi r1, 10
        movi r2, 0
        div  r3, r1, r2        ; #DE
        out  0xf0, r4
de:     ldw  r4, [sp]          ; saved PC = the div
        addi r4, r4, 4
        stw  r4, [sp]          ; resume after it
        movi r4, 99
        iret
${vectors({ 0: 'de' })}`);
    expect([r.status, r.exitCode]).toEqual(['exited', 99]);
    expect(r.counters.exceptions).toEqual({ 'divide-error': 1 });
  });

  it('a fault while delivering is a triple fault with an explanation (no handler installed)', () => {
    const { r } = runAsm(`${PRELUDE}
        syscall
${vectors({ 0: 'vectors' })}`);
    expect(r.status).toBe('triple-fault');
    expect(r.message).toMatch(/could not deliver syscall \(vector 128\).*entry at 0x8200 is zero/);
  });

  it('an unwritable stack during delivery is a triple fault naming the frame address', () => {
    const { r } = runAsm(`${PRELUDE}
        li   sp, 0x7ffffff0     ; beyond physical memory
        syscall
${vectors({ 0x80: 'vectors' })}`);
    expect(r.status).toBe('triple-fault');
    expect(r.message).toContain('writing the exception frame');
  });
});

describe('timer interrupts', () => {
  it('arrive after exactly N instructions retired since the timer was programmed', () => {
    // Instructions before the timer starts: li sp (2), li r1 (2), mtcr, li r1 (2), mtcr = 8 (prelude),
    // then sti, movi, movi, out = 4: the out is instruction k = 12. With N = 101 the interrupt is taken when
    // 101 more have retired: the spin loop alternates addi/jmp, so 51 addi and 50 jmp have run, r1 = 51, and
    // the interrupted instruction (saved PC) is the jmp.
    const { r, m } = runAsm(`${PRELUDE}
        sti
        movi r1, 0
        movi r2, 101
        out  0x20, r2
spin:   addi r1, r1, 1
jmpat:  jmp  spin
tick:   ldw  r3, [sp]
        li   r4, LOG
        stw  r3, [r4]
        stw  r1, [r4 + 4]
        li   r5, jmpat
        stw  r5, [r4 + 8]
        out  0xf0, r1
${vectors({ 32: 'tick' })}`);
    expect(r.status).toBe('exited');
    expect(peek(m, LOG + 4)).toBe(51);
    expect(peek(m, LOG)).toBe(peek(m, LOG + 8)); // interrupted at the jmp
    // 12 + 101 before the interrupt, then the handler's 8 (ldw, li×2, stw, stw, li×2, stw... counted below).
    const handler = 1 + 2 + 1 + 1 + 2 + 1 + 1; // ldw, li, stw, stw, li, stw, out
    expect(r.counters.guestInstructions).toBe(12 + 101 + handler);
    expect(r.counters.timerFires).toBe(1);
  });

  it('are held back by TPR and taken right after it is lowered', () => {
    // TPR = 2 masks the timer (class 2). 40 loop iterations (80 instructions) pass the deadline of 10;
    // lowering TPR delivers the pending tick immediately, so the handler sees r1 = 40.
    const { r } = runAsm(`${PRELUDE}
        movi r1, 2
        mtcr tpr, r1
        sti
        movi r1, 0
        movi r2, 10
        out  0x20, r2
loop:   addi r1, r1, 1
        cmpi r1, 40
        bne  loop
        movi r3, 0
        mtcr tpr, r3
        out  0xf0, r3          ; not reached: the tick comes first
tick:   out  0xf0, r1
${vectors({ 32: 'tick' })}`);
    expect([r.status, r.exitCode]).toEqual(['exited', 40]);
  });

  it('wake a halted CPU: time skips to the deadline and counts as idle, not as instructions', () => {
    // out is instruction k; sti (k+1) and hlt (k+2) retire; the deadline is k + 1000, so 998 idle ticks.
    const { r } = runAsm(`${PRELUDE}
        li   r2, 1000
        out  0x20, r2
        sti
        hlt
        out  0xf0, r2
tick:   movi r1, 5
        out  0xf0, r1
${vectors({ 32: 'tick' })}`);
    expect([r.status, r.exitCode]).toEqual(['exited', 5]);
    expect(r.counters.idleTicks).toBe(998);
  });
});

describe('the block device', () => {
  it('reads a sector into memory by DMA and raises its interrupt 200 + 50 per sector instructions later', () => {
    const disk = new Uint8Array(4 * 512);
    new DataView(disk.buffer).setUint32(512 + 8, 0xfeedf00d, true); // sector 1, offset 8
    // The command out is instruction k; it completes at k + 250. sti (k+1) and hlt (k+2) retire first,
    // so the CPU idles 248 ticks.
    const { r, m } = runAsm(`${PRELUDE}
        movi r1, 1
        out  0x30, r1          ; sector 1
        li   r1, 0x50000
        out  0x31, r1          ; DMA address
        movi r1, 1
        out  0x32, r1          ; one sector
        out  0x35, r1          ; interrupt on completion
        out  0x33, r1          ; command 1: read
        sti
        hlt
disk:   in   r2, 0x34          ; status
        li   r3, 0x50008
        ldw  r4, [r3]
        li   r3, LOG
        stw  r4, [r3]
        out  0xf0, r2
${vectors({ 48: 'disk' })}`, { disk });
    expect([r.status, r.exitCode]).toEqual(['exited', 0]); // status 0 = ready
    expect(peek(m, LOG) >>> 0).toBe(0xfeedf00d);
    expect(r.counters.exceptions).toEqual({ disk: 1 });
    expect(r.counters.idleTicks).toBe(248);
    expect(r.counters.diskCommands).toBe(1);
  });
});

describe('paging and page faults', () => {
  /** Identity-map the first 4 MiB (user, writable), then unmap page 0x300 and make page 0x301 read-only. */
  const PAGING = `
        .equ PD, 0x10000
        .equ PT, 0x11000
        li   r1, PT
        movi r2, 0
        li   r4, 1024
fill:   shli r3, r2, 12
        ori  r3, r3, 7
        shli r5, r2, 2
        add  r5, r5, r1
        stw  r3, [r5]
        addi r2, r2, 1
        cmp  r2, r4
        blt  fill
        li   r1, PD
        li   r3, PT | 7
        stw  r3, [r1]
        li   r5, PT + 0x300 * 4
        movi r3, 0
        stw  r3, [r5]
        li   r3, (0x301 << 12) | 5
        stw  r3, [r5 + 4]
        li   r1, PD
        mtcr ptbr, r1
        movi r1, 1
        mtcr ctrl, r1
`;
  it('report the faulting address in cr2 and the cause in cr5; the handler maps the page and the access retries', () => {
    const { r, m } = runAsm(`${PRELUDE}${PAGING}
        li   r6, 0x300004
        movi r9, 0
        ldw  r7, [r6]          ; not present: the handler maps it, the load retries
        li   r6, 0x301008
        stw  r7, [r6]          ; read-only: the handler logs and skips the store
        out  0xf0, r9
pf:     li   r10, LOG
        shli r11, r9, 3
        add  r10, r10, r11
        mfcr r11, faultaddr
        stw  r11, [r10]
        mfcr r11, ecode
        stw  r11, [r10 + 4]
        addi r9, r9, 1
        cmpi r9, 1
        bne  skip
        li   r11, PT + 0x300 * 4
        li   r12, (0x300 << 12) | 7
        stw  r12, [r11]
        mfcr r11, faultaddr
        invlpg r11
        iret
skip:   ldw  r11, [sp]
        addi r11, r11, 4
        stw  r11, [sp]
        iret
${vectors({ 14: 'pf' })}`);
    expect([r.status, r.exitCode]).toEqual(['exited', 2]);
    expect([peek(m, LOG), peek(m, LOG + 4)]).toEqual([0x300004, 0]); // read of a non-present page
    expect([peek(m, LOG + 8), peek(m, LOG + 12)]).toEqual([0x301008, PF_PROTECTION | PF_WRITE]);
    expect(r.counters.exceptions).toEqual({ 'page-fault': 2 });
    expect(r.counters.tlbWalks).toBeGreaterThan(0);
  });

  it('a user-mode access to a supervisor page faults with the user bit set', () => {
    const { r, m } = runAsm(`${PRELUDE}${PAGING}
        li   r5, PT + 0x302 * 4
        li   r3, (0x302 << 12) | 3     ; present, writable, supervisor only
        stw  r3, [r5]
        li   r1, USTACK
        push r1
        movi r1, 1
        push r1
        movi r1, 0
        push r1
        li   r1, user
        push r1
        iret
user:   li   r6, 0x302000
        ldw  r7, [r6]
pf:     mfcr r11, ecode
        li   r10, LOG
        stw  r11, [r10]
        mfcr r11, faultaddr
        stw  r11, [r10 + 4]
        out  0xf0, r11
${vectors({ 14: 'pf' })}`);
    expect(r.status).toBe('exited');
    expect([peek(m, LOG), peek(m, LOG + 4)]).toEqual([PF_PROTECTION | PF_USER, 0x302000]);
  });
});

describe('the sti interrupt shadow', () => {
  it('makes sti; hlt atomic: an interrupt pending at sti wakes the hlt instead of being taken before it', () => {
    // TPR = 2 masks the timer, so the disk interrupt is the only wakeup. It is pending when sti runs; without
    // the shadow it would be taken between sti and hlt, and hlt would then sleep forever (status halted).
    const { r, m, sym } = runAsm(`${PRELUDE}
        movi r1, 2
        mtcr tpr, r1
        li   r1, 0x50000
        out  0x31, r1          ; DMA to a buffer
        movi r1, 1
        out  0x32, r1          ; one sector
        out  0x35, r1          ; interrupt on completion
        out  0x33, r1          ; read
        li   r2, 400           ; wait until the command has completed (250 instructions)
1:      addi r2, r2, -1
        cmpi r2, 0
        bne  1b
        sti
hlt_at: hlt
        out  0xf0, r2
disk:   ldw  r3, [sp]          ; where the interrupt was taken
        li   r4, LOG
        stw  r3, [r4]
        iret
${vectors({ 48: 'disk' })}`);
    expect([r.status, r.exitCode]).toEqual(['exited', 0]);
    expect(peek(m, LOG)).toBe(sym('hlt_at') + 4); // taken after the hlt, which it woke
  });
});

describe('terminal statuses', () => {
  it('a runaway guest stops at the instruction budget with status budget-exhausted', () => {
    const { r } = runAsm(`spin: jmp spin`, { budget: 12345 });
    expect(r.status).toBe('budget-exhausted');
    expect(r.counters.guestInstructions).toBe(12345);
    expect(r.message).toContain('12345');
  });
  it('hlt with interrupts disabled stops the machine with status halted', () => {
    const { r } = runAsm(`cli\nhlt`);
    expect(r.status).toBe('halted');
    expect(r.message).toContain('IF = 0');
    expect(r.counters.guestInstructions).toBe(2);
  });
  it('hlt with interrupts enabled but nothing that could wake it also halts', () => {
    const { r } = runAsm(`sti\nhlt`);
    expect(r.status).toBe('halted');
    expect(r.message).toMatch(/no interrupt that could wake it/);
  });
});
