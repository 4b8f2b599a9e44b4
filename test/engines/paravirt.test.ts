/**
 * paravirt: the paravirtual kernel runs every workload with the reference's exact output; interrupt masking never
 * enters the hypervisor; page-table updates are validated and batched; guest user code cannot reach guest kernel
 * memory although the kernel's pages are user-accessible to the hardware; the hypercall ABI does what
 * docs/paravirt.md says.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleFile, formatError } from '../../src/asm/index.js';
import type { IsaVariant } from '../../src/isa/arch.js';
import { runBare } from '../../src/run/reference.js';
import { buildProgram, WORKLOADS_DIR } from '../../src/workload/build.js';
import * as abi from '../../src/vmm/pv-abi.js';
import { ParavirtVmm, paravirt } from '../../strategies/paravirt.js';
import type { EngineOutcome, RunSpec } from '../../strategies/engine.js';
import { WORKLOADS, workloadByName } from '../../workloads/manifest.js';
import { cell, reasonCount } from '../support/engines.js';
import { buildWorkload } from '../support/workloads.js';

const MEMORY = 8 * 1024 * 1024;

function spec(image: Uint8Array, isa: IsaVariant = 'default'): RunSpec {
  return { image, isa, budget: 50_000_000, memoryBytes: MEMORY, trace: null, options: {} };
}

/** Hypercalls of one number in a result's reasons. */
function hc(reasons: { kind: string; reason: string; count: number }[], n: number): number {
  return reasons.find((x) => x.kind === 'hypercall' && x.reason === abi.hypercallReason(n))?.count ?? 0;
}

describe('paravirt runs every workload with the reference output', () => {
  for (const isa of ['default', 'classic'] as const) {
    for (const w of WORKLOADS) {
      it(`${w.name} (${isa} ISA)`, () => {
        const r = cell('paravirt', w.name, { isa });
        expect(r.guestBuild).toBe('paravirt');
        expect(r.status, r.message).toBe('exited');
        expect(r.exitCode).toBe(0);
        expect(r.fidelity.compared).toBe('output');
        expect(r.fidelity.differences).toEqual([]);
        expect(r.fidelity.verdict).toBe('exact');
        expect(r.outputCorrect).toBe(true);
        const c = r.counters;
        // Every guest instruction ran directly on the hardware, except the vmcalls, which the hypervisor retires.
        expect(c.guestInstructions).toBe(c.directInstructions + c.emulatedInstructions);
        expect(c.emulatedInstructions).toBe(c.hypercalls);
        expect(c.interpretedInstructions + c.translatedInstructions).toBe(0);
        // The paravirtual kernel executes no sensitive instruction; memory needs no shadows.
        expect(c.nativeFlagInstructions + c.nativeControlInstructions).toBe(0);
        expect(c.hiddenPageFaults + c.shadowEntriesBuilt + c.shadowFlushes).toBe(0);
        expect(c.vmmEntries).toBe(c.hypercalls + c.traps + c.hostInterrupts);
        expect(r.silentFailures).toEqual([]);
        // Ring compression: two filtered tables (the identity map of 0..8 MiB mixes kernel-only and user pages).
        expect(r.details.userViewTables).toBe(2);
        expect(r.details.pageTableUpdatesRejected).toBe(0);
      });
    }
  }

  it('counts deterministically', () => {
    const a = cell('paravirt', 'mixed');
    const b = cell('paravirt', 'mixed');
    expect(b.counters).toEqual(a.counters);
    expect(b.reasons).toEqual(a.reasons);
    expect(b.batchSizes).toEqual(a.batchSizes);
    expect(b.details).toEqual(a.details);
  });
});

describe('the hypercall ABI', () => {
  it('src/vmm/pv-abi.ts and workloads/kernel/arch.s agree on every number', () => {
    const w = workloadByName('hello')!;
    const sym = buildWorkload(w, w.quickScale, 'paravirt').symbols;
    abi.HYPERCALL_NAMES.forEach((name, n) => expect(sym.get(name), name).toBe(n));
    const shared: Record<string, number> = {
      SH_MASK: abi.SH_MASK,
      SH_PENDING: abi.SH_PENDING,
      SH_TPR: abi.SH_TPR,
      SH_CR2: abi.SH_CR2,
      SH_ECODE: abi.SH_ECODE,
      MMU_BATCH_MAX: abi.MMU_BATCH_MAX,
      MMUEXT_INVLPG: abi.MMUEXT_INVLPG,
      MMUEXT_NEW_BASEPTR: abi.MMUEXT_NEW_BASEPTR,
      PTE_KONLY: abi.PTE_KONLY,
    };
    for (const [name, v] of Object.entries(shared)) expect(sym.get(name), name).toBe(v);
  });

  it("docs/paravirt.md's hypercall table lists every hypercall with its number, and the shared page its offsets", () => {
    const doc = readFileSync(new URL('../../docs/paravirt.md', import.meta.url), 'utf8');
    const hypercalls = [...doc.matchAll(/^\| (\d+) \| `(HC_[A-Z_]+)` \|/gm)].map((m) => [m[2], Number(m[1])]);
    expect(hypercalls).toEqual(abi.HYPERCALL_NAMES.map((name, n) => [name, n]));
    const fields = [...doc.matchAll(/^\| (\d+) \| `(SH_[A-Z0-9_]+)` \|/gm)].map((m) => [m[2], Number(m[1])]);
    expect(fields).toEqual([
      ['SH_MASK', abi.SH_MASK],
      ['SH_PENDING', abi.SH_PENDING],
      ['SH_TPR', abi.SH_TPR],
      ['SH_CR2', abi.SH_CR2],
      ['SH_ECODE', abi.SH_ECODE],
    ]);
  });

  it('does what docs/paravirt.md says: a hypercall test program in guest supervisor mode (workloads/tests/pv-abi.s)', () => {
    const a = assembleFile(`${WORKLOADS_DIR}tests/pv-abi.s`, { defines: { PARAVIRT: 1 } });
    if (!a.ok) throw new Error(a.errors.map(formatError).join('\n'));
    const o = paravirt.run(spec(a.image));
    expect(o.status, o.message).toBe('exited');
    expect(o.console).not.toContain('FAIL');
    expect(o.console).toBe(
      [
        'shared-info page registered',
        'unknown hypercall: -1',
        'unknown hypercall: registers preserved',
        'page-table update before pinning: -1',
        'directory mapping outside RAM: -1',
        'directory pinned',
        'unknown mmuext operation: -1',
        'update outside the page tables: -1',
        'update mapping outside RAM: -1',
        'directory entry above 2 GiB: -1',
        'new table and entry in one batch: 0',
        'read through the new mapping',
        'remapped: 0',
        'read through the remapped entry, no invlpg',
        'batch larger than MMU_BATCH_MAX: -1',
        'multicall 1>multicall 3',
        'multicall: 0',
        'multicall with HC_IRET: -1',
        'console write from an unmapped buffer: -1',
        'window table unmapped: 0',
        'a page that stopped being a page table is writable again',
        'user pages: 0',
        'user read of a kernel-only page: protection fault, user mode',
        'SH_CR2 = the kernel-only address',
        'frame PC = the user load',
        'user read of a user page through the updated view',
        'store to the page directory: protection fault',
        'SH_CR2 = the address',
        'frame PC = the store',
        'events masked in the handler',
        '',
      ].join('\n'),
    );
    expect(o.exitCode).toBe(0); // the number of failed checks
    const reasons = o.counters.reasonList();
    expect(reasons.find((x) => x.reason === '99 unknown')?.count).toBe(1);
    // The multicall of three sub-calls was one hypercall; its console writes and port write made no entry.
    expect(hc(reasons, abi.HC_MULTICALL)).toBe(2);
    expect(o.details.multicallSubcalls).toBe(3);
    expect(o.counters.batchList()).toEqual(
      expect.arrayContaining([
        { call: 'HC_MMU_UPDATE', size: 2, calls: 2 }, // the two two-entry HC_MMU_UPDATEs
        { call: 'HC_MULTICALL', size: 3, calls: 1 }, // the three-entry multicall
      ]),
    );
    // The user probe's load and the store to the (read-only) page directory were the guest's own page faults.
    expect(o.counters.truePageFaults).toBe(2);
    expect(o.details.pageTableUpdatesRejected).toBe(4);
  });
});

describe('interrupt masking never enters the hypervisor', () => {
  it('critical-sections: thousands of irq_save/irq_restore pairs, hypercalls only for events and system calls', () => {
    const w = workloadByName('critical-sections')!;
    const scale = w.defaultScale; // 20 ticks, so that some arrive inside critical sections
    const built = buildProgram({ program: w.program, scale, build: 'paravirt', kernelOptions: w.kernelOptions });
    const vmm = new ParavirtVmm(spec(built.image));
    const o: EngineOutcome = vmm.run();
    expect(o.status).toBe('exited');
    expect(o.console).toBe(w.expected(scale));
    // Each pass of sys_crit's loop is one irq_save and one irq_restore around `crit_counter += 1`.
    const sections = vmm.vm.mem.i32[built.symbols.get('crit_counter')! >>> 2];
    expect(sections).toBeGreaterThan(5000);
    const c = o.counters;
    const reasons = c.reasonList();
    // What entered the VMM: hypercalls, system calls and page faults of the user program, and the host timer.
    // Nothing else — in particular no privilege-violation trap (what cli/sti/popf would raise deprivileged).
    const other = reasons.filter(
      (x) => x.kind !== 'hypercall' && !(x.kind === 'trap' && /^(syscall|page fault \(true\))$/.test(x.reason)) && !(x.kind === 'interrupt' && x.reason === 'host timer'),
    );
    expect(other).toEqual([]);
    expect(c.nativeFlagInstructions).toBe(0);
    // Every tick is delivered (the program needs `scale` of them) ...
    expect(c.injectedInterrupts).toBeGreaterThanOrEqual(scale);
    // ... some while masked: then SH_PENDING makes the unmasking irq_restore ask with HC_EVENT_CHECK — at most
    // once per event, never per critical section.
    const eventChecks = hc(reasons, abi.HC_EVENT_CHECK);
    expect(eventChecks).toBeGreaterThan(0);
    expect(eventChecks).toBeLessThanOrEqual(c.injectedInterrupts);
    // Every delivery (event or reflected exception) returns with one HC_IRET, except the exit() system call;
    // and the boot "returns" into task 0 with one.
    expect(hc(reasons, abi.HC_IRET)).toBe(c.injectedInterrupts + c.reflectedExceptions - 1 + 1);
    // The bound: 6 boot and shutdown calls (SET_SHARED, SET_TRAP_TABLE, MMUEXT, SET_TIMER, STACK_SWITCH,
    // SHUTDOWN), the HC_IRETs above, at most one HC_EVENT_CHECK per event, and the page-table updates and
    // console writes the program's own page faults and system calls need. Masking adds nothing.
    const bound =
      6 + (c.injectedInterrupts + c.reflectedExceptions) + c.injectedInterrupts + hc(reasons, abi.HC_MMU_UPDATE) + hc(reasons, abi.HC_CONSOLE_WRITE);
    expect(c.hypercalls).toBeLessThanOrEqual(bound);
    expect(c.hypercalls * 50).toBeLessThan(sections);
  });
});

describe('page-table updates are validated and batched', () => {
  for (const scale of [64, 200]) {
    it(`pgfault at scale ${scale}: one HC_MMU_UPDATE per fault, one per 64 pages released, one for the exit`, () => {
      const r = cell('paravirt', 'pgfault', { scale });
      expect(r.fidelity.verdict).toBe('exact');
      // The program touches `scale` fresh pages of a 64-page window (one true fault each) and releases the
      // window whenever it is full. Fault handling maps one page: pte_write + pte_commit = one update, one call.
      // The first fault in the window's 4 MiB region also installs a page table (a directory update, its own
      // call), and the first push on the user stack faults the same way: 1 table + 1 page. At exit the kernel
      // unmaps what is still mapped — the window's last scale % 64 pages and the stack page — in one batch:
      //   calls of batch 1 = scale + 3, of batch 64 = floor(scale / 64), of batch (scale % 64 + 1) = 1.
      const releases = Math.floor(scale / 64);
      const zapped = (scale % 64) + 1;
      const expected = [
        { call: 'HC_MMU_UPDATE', size: 1, calls: scale + 3 + (zapped === 1 ? 1 : 0) },
        ...(zapped > 1 ? [{ call: 'HC_MMU_UPDATE', size: zapped, calls: 1 }] : []),
        { call: 'HC_MMU_UPDATE', size: 64, calls: releases },
      ];
      expect(r.batchSizes).toEqual(expected);
      expect(reasonCount(r, 'hypercall', '6 HC_MMU_UPDATE')).toBe(scale + 3 + releases + 1);
      expect(r.counters.truePageFaults).toBe(scale + 1);
      expect(r.details.pageTableUpdatesApplied).toBe(scale + 3 + 64 * releases + zapped);
      expect(r.counters.validatedPageTableUpdates).toBe(r.details.pageTableUpdatesApplied);
    });
  }

  it('ptemod: the kernel rewrites a mapped entry without invlpg; the hypervisor invalidates it', () => {
    const w = workloadByName('ptemod')!;
    const r = cell('paravirt', 'ptemod');
    expect(r.outputCorrect).toBe(true);
    // One update per iteration and one to restore it, plus the stack's table and page and the benchmark page's,
    // plus the exit's unmapping of the stack and benchmark pages (one batch of 2).
    expect(reasonCount(r, 'hypercall', '6 HC_MMU_UPDATE')).toBe(w.quickScale + 1 + 3 + 1);
    expect(r.batchSizes).toContainEqual({ call: 'HC_MMU_UPDATE', size: 2, calls: 1 });
    expect(r.counters.tlbInvalidations).toBeGreaterThanOrEqual(w.quickScale + 1);
  });
});

describe('the timer-driven workloads get their ticks', () => {
  for (const name of ['multitask', 'critical-sections']) {
    it(name, () => {
      const w = workloadByName(name)!;
      const r = cell('paravirt', name);
      expect(r.outputCorrect).toBe(true);
      // Virtual time is guest instructions, so the paravirtual kernel (which retires a few more instructions
      // than the native one: hypercall set-up) takes about as many ticks as bare metal delivers to the native
      // build. Not exactly as many: ticks that fall due while the kernel masks events coalesce, at different
      // instructions in the two builds.
      const bare = runBare(buildWorkload(w, w.quickScale).image, { budget: 50_000_000 });
      const ticks = bare.counters.interrupts;
      expect(ticks).toBeGreaterThan(0);
      expect(r.counters.injectedInterrupts).toBeGreaterThanOrEqual(Math.floor(ticks * 0.9));
      expect(r.counters.injectedInterrupts).toBeLessThanOrEqual(Math.ceil(ticks * 1.1));
    });
  }
});

describe('ring compression: guest user code cannot reach the guest kernel', () => {
  const at = (symbols: Map<string, number>, label: string) => `0x${symbols.get(label)!.toString(16).padStart(8, '0')}`;

  it('a user program reading kernel data, the shared-info page or the page directory, or calling the hypervisor, is killed', () => {
    const built = buildProgram({ program: 'tests/peek-kernel.s', scale: 1, build: 'paravirt' });
    const o = paravirt.run(spec(built.image));
    expect(o.status, o.message).toBe('exited');
    expect(o.console).toBe(
      `task 0 killed: page fault at pc ${at(built.symbols, 'read_at')}\n` +
        `task 1 killed: page fault at pc ${at(built.symbols, 'mask_at')}\n` +
        `task 2 killed: page fault at pc ${at(built.symbols, 'pgdir_at')}\n` +
        `task 3 killed: invalid opcode at pc ${at(built.symbols, 'hypercall_at')}\n` +
        'survivor: kernel memory stayed private\n',
    );
    expect(o.exitCode).toBe(0x80 | 14 | 6);
    // Exactly what bare metal does with the native build of the same program.
    const native = runBare(buildProgram({ program: 'tests/peek-kernel.s', scale: 1, build: 'native' }).image, { budget: 10_000_000 });
    expect(o.console).toBe(native.console);
    expect(o.exitCode).toBe(native.exitCode);
  });

  it('...and it is the user view that stops them: without it the same program reads kernel memory', () => {
    class NoUserView extends ParavirtVmm {
      protected override pageTableBase(_mode: number): number {
        return super.pageTableBase(0); // the guest's own tables for user code too
      }
    }
    const built = buildProgram({ program: 'tests/peek-kernel.s', scale: 1, build: 'paravirt' });
    const o = new NoUserView(spec(built.image)).run();
    expect(o.console).toContain('LEAK');
  });

  it('the faults test program behaves as on bare metal', () => {
    const pv = paravirt.run(spec(buildProgram({ program: 'tests/faults.s', scale: 1, build: 'paravirt' }).image));
    const native = runBare(buildProgram({ program: 'tests/faults.s', scale: 1, build: 'native' }).image, { budget: 10_000_000 });
    expect(pv.status).toBe('exited');
    expect(pv.console).toBe(native.console);
    expect(pv.exitCode).toBe(native.exitCode);
  });
});

describe('tracing', () => {
  it('names every hypercall with its number and what it did', () => {
    const events: string[] = [];
    const w = workloadByName('hello')!;
    const o = paravirt.run({ ...spec(buildWorkload(w, 1, 'paravirt').image), trace: (e) => events.push(`${e.kind} ${e.reason}: ${e.action} [${e.instruction}]`) });
    expect(o.status).toBe('exited');
    expect(events[0]).toBe('hypercall 14 HC_SET_SHARED: returned 0 [vmcall]');
    expect(events).toContain('hypercall 7 HC_MMUEXT: returned 0 [vmcall]');
    expect(events.some((e) => /^hypercall 4 HC_IRET: returned from the exception to user code at 0x/.test(e))).toBe(true);
    expect(events.at(-1)).toBe('hypercall 11 HC_SHUTDOWN: powering off [vmcall]');
  });
});
