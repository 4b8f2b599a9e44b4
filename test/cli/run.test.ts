/** The asm, disasm and run commands: output, exit statuses and error messages. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

const HELLO = 'workloads/bare/hello.s';
const dir = mkdtempSync(join(tmpdir(), 'virtstrat-cli-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('virtstrat run', () => {
  it('prints the hello-world through the console port and exits 0', async () => {
    const r = await cli('run', HELLO);
    expect(r.code).toBe(0);
    expect(r.out).toBe('Hello from VS32!\n');
    expect(r.err).toMatch(/native on .*hello\.s, default ISA: exited with exit code 0/);
  });
  it('--json prints status, console, counters.guestInstructions and the final registers', async () => {
    const r = await cli('run', HELLO, '--json');
    const j = JSON.parse(r.out);
    expect(j.status).toBe('exited');
    expect(j.console).toBe('Hello from VS32!\n');
    // li (2) + 17 characters × 6 instructions + the final ldb/cmpi/beq (3) + movi/out (2)
    expect(j.counters.guestInstructions).toBe(2 + 17 * 6 + 3 + 2);
    expect(j.registers.r).toHaveLength(16);
    expect(typeof j.registers.pc).toBe('number');
  });
  it('a runaway program stops at --budget with status budget-exhausted and exit status 1', async () => {
    const r = await cli('run', file('spin.s', 'spin: jmp spin\n'), '--budget', '5000', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ status: 'budget-exhausted', counters: { guestInstructions: 5000 } });
  });
  it('--isa classic is accepted (rdmode stays legal in supervisor mode)', async () => {
    const src = file('mode.s', 'rdmode r1\nmovi r2, 0\nout 0xf0, r1\n');
    expect(JSON.parse((await cli('run', src, '--json', '--isa', 'classic')).out).exitCode).toBe(0);
  });
  it('assembler errors are all printed as file:line:column with exit status 1', async () => {
    const r = await cli('run', file('bad.s', 'nop\nad r1, r2, r3\naddi r1, r2, 70000\n'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.s:2:1: error: unknown instruction 'ad'/);
    expect(r.err).toMatch(/bad\.s:3:\d+: error: .*70000/);
    expect(r.err).toMatch(/2 errors in/);
  });
  it('a missing file is a run failure (1), not a crash', async () => {
    const r = await cli('run', join(dir, 'nope.s'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/nope\.s/);
  });
});

describe('usage errors exit 2 and list what is valid', () => {
  it('an unknown flag lists the valid flags', async () => {
    const r = await cli('run', HELLO, '--bogus');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--bogus'.*--engine.*--isa.*--json.*--budget/);
  });
  it('a bad --isa value lists the valid values', async () => {
    const r = await cli('run', HELLO, '--isa', 'x86');
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/'x86' is not valid\. Valid values: default, classic/)]);
  });
  it('a bad --budget value says what is expected', async () => {
    expect((await cli('run', HELLO, '--budget', 'lots')).err).toMatch(/not a whole number/);
  });
  it('an unknown command lists the commands', async () => {
    const r = await cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Valid commands: .*asm.*disasm.*run/);
  });
});

describe('virtstrat asm and disasm', () => {
  it('the disassembly of a program assembles back to the same image', async () => {
    const listing = (await cli('disasm', HELLO)).out;
    const again = await cli('asm', file('again.s', listing), '-o', join(dir, 'again.bin'));
    expect(again.code).toBe(0);
    const original = await cli('asm', HELLO, '-o', join(dir, 'hello.bin'));
    expect(original.code).toBe(0);
    const { readFileSync } = await import('node:fs');
    expect(Buffer.compare(readFileSync(join(dir, 'again.bin')), readFileSync(join(dir, 'hello.bin')))).toBe(0);
  });
  it('-D defines a symbol for conditional assembly', async () => {
    const src = file('cond.s', '.ifdef FAST\nmovi r1, 1\n.else\nmovi r1, 2\n.endif\nout 0xf0, r1\n');
    expect(JSON.parse((await cli('run', src, '--json', '-D', 'FAST')).out).exitCode).toBe(1);
    expect(JSON.parse((await cli('run', src, '--json')).out).exitCode).toBe(2);
  });
});

describe('workloads from the command line', () => {
  it('run <workload> builds it with the kernel, runs it at its default scale and checks its output', async () => {
    const r = await cli('run', 'hello', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.console).toBe('Hello from user mode!\n');
    expect(j.check).toEqual({ workload: 'hello', scale: 1, passed: true });
  });
  it('--scale changes the size', async () => {
    const r = await cli('run', 'syscall', '--scale', '7');
    expect([r.code, r.out]).toEqual([0, 'null system calls: 7\n']);
    expect(r.err).toMatch(/matches the expected output of syscall at scale 7/);
  });
  it('-D passes a kernel build option to a workload: a 10x faster timer delivers many more ticks', async () => {
    const counters = async (...define: string[]): Promise<Record<string, number>> => {
      const r = await cli('run', 'sieve', '--scale', '20000', '--json', ...define);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out).counters;
    };
    // The kernel's TIMER_PERIOD (default 100,000 instructions) is an assembler symbol; -D overrides it. Deliveries
    // that are not faults are system calls (the same in both runs) and timer ticks. The timer counts every
    // instruction after boot, the user program's included: at least floor(user / 10,000) ticks with the fast
    // timer, at most ceil(all / 100,000) with the default one.
    const slow = await counters();
    const fast = await counters('-D', 'TIMER_PERIOD=10000');
    const interrupts = (c: Record<string, number>): number => c.hardwareDeliveries - c.hardwareFaultDeliveries;
    expect(fast.userInstructions).toBe(slow.userInstructions);
    expect(interrupts(fast) - interrupts(slow)).toBeGreaterThanOrEqual(
      Math.floor(slow.userInstructions / 10_000) - Math.ceil(slow.guestInstructions / 100_000),
    );
  });
  it('-D cannot set SCALE or PARAVIRT, which have their own flags', async () => {
    expect((await cli('run', 'sieve', '-D', 'SCALE=3')).err).toMatch(/-D SCALE: use --scale N/);
    expect((await cli('run', 'sieve', '-D', 'PARAVIRT')).err).toMatch(/-D PARAVIRT: .* use --engine paravirt/);
  });
  it("a workload's user program run as a file points to the workload (it needs the guest kernel)", async () => {
    const r = await cli('run', 'workloads/programs/sieve.s');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is the user program of the workload 'sieve', which runs on the guest kernel: virtstrat run sieve/);
  });
  it('the reference run reports no overhead or fidelity against itself', async () => {
    const r = await cli('run', 'hello');
    expect(r.err).toMatch(/modeled cycles \(p4-2006\): \d+ \(the reference run: bare metal\)/);
    expect(r.err).not.toMatch(/fidelity/);
  });
  it('--kernel runs a user program of your own on the guest kernel, under any engine (paravirt included)', async () => {
    const mine = file(
      'mine.s',
      [
        '        .align 4',
        'user_tasks:',
        '        .word greet, 7, greet, 8',
        '        .word 0',
        'greet:  mov  r2, r1',
        '        li   r1, msg',
        '        call print_labeled',
        '        movi r1, SCALE',
        '        call exit',
        'msg:    .asciz "task argument "',
        '',
      ].join('\n'),
    );
    for (const engine of ['native', 'paravirt', 'vtx']) {
      const r = await cli('run', mine, '--kernel', '--engine', engine, '--scale', '3', '--json');
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out);
      // Two tasks in turn, each printing its argument; the last to exit powers the machine off with SCALE.
      expect([j.console, j.exitCode, j.fidelity.verdict, j.outputCorrect, j.check]).toEqual(['task argument 7\ntask argument 8\n', 3, 'exact', null, undefined]);
    }
    expect((await cli('run', 'sieve', '--kernel')).err).toMatch(/--kernel: 'sieve' is a workload, which runs on the guest kernel already/);
  });
  it('--json: a file that does not assemble is a JSON answer too, with every error and its position (exit 1)', async () => {
    const bad = file('bad.s', '  frob r1\n  add r1, r2\n');
    const r = await cli('run', bad, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.status).toBe('assembly-failed');
    expect(j.errors.map((e: { line: number; column: number }) => [e.line, e.column])).toEqual([
      [1, 3],
      [2, 13],
    ]);
    expect(r.err).toMatch(/bad\.s:1:3: error: unknown instruction 'frob'/);
  });
  it('an unknown workload lists the valid ones', async () => {
    const r = await cli('run', 'nosuch');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Valid workloads: hello, syscall, in/);
  });
  it('list --json lists every workload with its purpose and default scale', async () => {
    const j = JSON.parse((await cli('list', '--json')).out);
    expect(j.workloads.map((w: { name: string }) => w.name)).toContain('critical-sections');
    expect(j.workloads.find((w: { name: string }) => w.name === 'sieve')).toMatchObject({ defaultScale: 1_000_000 });
  });
});
