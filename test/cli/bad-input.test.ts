/**
 * Bad input everywhere (issue 8): every mistake in how virtstrat is called, and every input it cannot use, ends
 * with one clear message and a documented exit status — never a stack trace. The rule (bench/cli.ts):
 *   2  a usage error: an unknown command or flag, a bad flag value — including a --preset file that cannot be
 *      used, since it is a flag's value — caught before anything runs;
 *   1  the run failed: an input file that cannot be read or is not assembly (the assembler's file:line:column
 *      errors), an output that cannot be written, a guest that did not finish;
 *   130 bench interrupted with Ctrl-C (test/cli/interrupt.test.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, type CliRun } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'virtstrat-bad-'));
const file = (name: string, content: string | Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const HELLO = 'workloads/bare/hello.s';

/** One clear failure: the status, the message, and no stack trace ("    at fn (file:line)"). */
function expectFailure(r: CliRun, code: number, message: RegExp): void {
  expect(r.code, r.err).toBe(code);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/^\s+at .*[(:]\d+/m);
  expect(r.err).not.toMatch(/internal error/);
}

/** A price entry, for preset files. */
const price = (cycles: unknown, source: unknown = 'a test') => ({ cycles, source });

describe('a --preset file that cannot be used is a usage error (2) naming the file and what is wrong', () => {
  const json = (name: string, value: unknown) => file(name, JSON.stringify(value));
  const cases: [string, () => string, RegExp][] = [
    ['invalid JSON', () => file('broken.json', '{ "id": "x", '), /broken\.json: not valid JSON \(/],
    ['not an object', () => json('array.json', [1, 2]), /array\.json: a preset must be a JSON object/],
    ['an empty id', () => json('noid.json', { id: '', name: 'x', extends: 'p4-2006' }), /"id" must be a non-empty string/],
    ['prices of the wrong type', () => json('prices.json', { id: 'x', name: 'x', extends: 'p4-2006', prices: [] }), /"prices" must be an object/],
    ['a price that is not an object', () => json('scalar.json', { id: 'x', name: 'x', extends: 'p4-2006', prices: { trap: 5 } }), /price "trap" must be an object \{ "cycles": N, "source": "..." \}/],
    ['cycles of the wrong type', () => json('type.json', { id: 'x', name: 'x', extends: 'p4-2006', prices: { trap: price('fast') } }), /price "trap": "cycles" must be a number >= 0, got "fast"/],
    ['negative cycles', () => json('negative.json', { id: 'x', name: 'x', extends: 'p4-2006', prices: { trap: price(-5) } }), /price "trap": "cycles" must be a number >= 0, got -5/],
    ['a price without a source', () => json('nosource.json', { id: 'x', name: 'x', extends: 'p4-2006', prices: { trap: price(5, '') } }), /price "trap": "source" must say where the number comes from/],
    ['an unknown price', () => json('unknown.json', { id: 'x', name: 'x', extends: 'p4-2006', prices: { warpDrive: price(1) } }), /unknown price "warpDrive"\. Valid prices: directInstruction, /],
    ['a missing price (no "extends")', () => json('missing.json', { id: 'x', name: 'x', prices: { trap: price(1) } }), /price "directInstruction" is missing/],
    ['"extends" naming no built-in preset', () => json('extends.json', { id: 'x', name: 'x', extends: 'p3-1999' }), /"extends" must name a built-in preset: p4-2006, sandybridge-2011/],
    ['a folder', () => (mkdirSync(join(dir, 'folder.json'), { recursive: true }), join(dir, 'folder.json')), /cannot read preset file .*folder\.json: EISDIR/],
    ['a missing file', () => join(dir, 'absent.json'), /cannot read preset file .*absent\.json: ENOENT/],
    // Unreadable: the tests may run as root, which reads any file; a path through a regular file cannot be read by anyone.
    ['an unreadable path', () => join(file('plain', 'x'), 'inside.json'), /cannot read preset file .*inside\.json: ENOTDIR/],
    ['neither a preset name nor a .json file', () => 'p3', /unknown preset 'p3'\. Valid presets: p4-2006, sandybridge-2011, or a path to a \.json file/],
  ];
  for (const [what, make, message] of cases) {
    it(what, async () => {
      expectFailure(await cli('run', HELLO, '--preset', make()), 2, new RegExp(`^virtstrat: --preset: .*${message.source}`));
    });
  }

  it('bench checks the preset before running anything: no report is written', async () => {
    const out = join(dir, 'no-report');
    expectFailure(await cli('bench', '--quick', '--no-timing', '--preset', file('bench.json', '[]'), '--out', out), 2, /a preset must be a JSON object/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('bad flag values are usage errors (2) that say what is expected', () => {
  const cases: [string[], RegExp][] = [
    [['run', HELLO, '--memory', '1000'], /--memory: '1000' is not a whole number of 4096-byte pages/],
    [['run', HELLO, '--memory', '0'], /--memory: '0' is not a whole number between 1 and/],
    [['run', 'syscall', '--scale', '99999999999'], /--scale: '99999999999' is not a whole number between 1 and 2147483647/],
    [['run', 'syscall', '--scale', '1.5'], /--scale: '1\.5' is not a whole number/],
    [['run', HELLO, '--scale', '5'], /--scale applies to workloads and --kernel programs, not to bare assembly files/],
    [['run', HELLO, '--budget=-5'], /--budget: '-5' is not a whole number/],
    [['run', HELLO, '--engine'], /run: Option '--engine <value>' argument missing\. Valid options: /],
    [['run', HELLO, '--engine', 'qemu'], /--engine: 'qemu' is not an engine\. Valid engines: native, emulate/],
    [['run', HELLO, '--engine', 'dbt', '--option', 'cacheBlocks=lots'], /--option cacheBlocks: expected a whole number, got 'lots'/],
    [['run', HELLO, '--engine', 'dbt', '--option', 'chaining=maybe'], /--option chaining: expected true or false, got 'maybe'/],
    [['run', HELLO, '--engine', 'dbt', '--option', 'turbo=1'], /--option: 'turbo=1' is not an option of dbt\. Valid options: cacheBlocks, chaining/],
    [['run', HELLO, '-D', '1X'], /--define: '1X' is not NAME or NAME=integer/],
    [['run', HELLO, HELLO], /run: expected exactly one file, got 2/],
    [['classify', '--seed=-1'], /^virtstrat: --seed: '-1' is not a whole number between 0 and 4294967295\n$/],
    // A negative value without "=" reads as a flag: parseArgs's message, with one full stop.
    [['classify', '--seed', '-1'], /argument is ambiguous[^]*'--seed=-XYZ'\. Valid options: --isa/],
    [['asm'], /asm: expected exactly one file, got 0/],
    [['gen', 'compiler'], /gen: what to generate\? Valid values: interpreter/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      expectFailure(await cli(...args), 2, message);
    });
  }

  it('bench --out naming a file is caught before the run, and the file is left alone', async () => {
    const target = file('results-here', 'mine\n');
    expectFailure(await cli('bench', '--quick', '--no-timing', '--engines', 'native', '--workloads', 'hello', '--out', target), 2, /--out: .*results-here is a file, not a folder/);
  });
});

describe('input files that cannot be used and outputs that cannot be written fail the run (1), with file:line:column for sources', () => {
  it('a folder named like a source file: "cannot read", at line 1, column 1', async () => {
    mkdirSync(join(dir, 'folder.s'), { recursive: true });
    expectFailure(await cli('run', join(dir, 'folder.s')), 1, /folder\.s:1:1: error: cannot read '.*folder\.s' \(EISDIR/);
  });

  it('a file that is not assembly (random bytes, a JSON document): positioned errors, and a count', async () => {
    let seed = 99;
    const noise = Uint8Array.from({ length: 400 }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff);
    const r = await cli('run', file('noise.s', noise));
    expectFailure(r, 1, /noise\.s:\d+:\d+: error: /);
    expect(r.err).toMatch(/virtstrat: \d+ errors? in .*noise\.s\n$/);
    // A file without the .s suffix is assembled too when it exists (the positional is a workload or a file).
    expectFailure(await cli('run', file('preset.json', '{ "id": "x" }')), 1, /preset\.json:1:1: error: /);
  });

  it('asm -o into a folder that does not exist', async () => {
    expectFailure(await cli('asm', HELLO, '-o', join(dir, 'nowhere', 'x.bin')), 1, /^virtstrat: cannot write .*x\.bin: ENOENT/);
  });

  it('disasm of a missing image or of a folder', async () => {
    expectFailure(await cli('disasm', join(dir, 'absent.bin')), 1, /^virtstrat: cannot read .*absent\.bin: ENOENT/);
    expectFailure(await cli('disasm', dir), 1, /^virtstrat: cannot read .*: EISDIR/);
  });

  it('an image that does not fit the memory asked for', async () => {
    const big = file('big.s', '        .space 8192\n');
    expectFailure(await cli('run', big, '--memory', '4096'), 1, /^virtstrat: image of 8192 bytes does not fit at 0x0 in 4096 bytes of memory/);
  });

  it('a workload with a memory size other than the one the guest kernel is laid out for', async () => {
    expectFailure(await cli('run', 'hello', '--memory', '4194304'), 2, /^virtstrat: --memory: the guest kernel is laid out for 8388608 bytes .* --memory applies to bare assembly files/);
  });

  it('bench --out where no folder can be created: the run fails at the end with one message, nothing half-written', async () => {
    const out = join(file('blocker', 'x'), 'report');
    const r = await cli('bench', '--quick', '--no-timing', '--engines', 'native', '--workloads', 'hello', '--out', out);
    expectFailure(r, 1, /^virtstrat: cannot write the report to .*blocker\/report: ENOTDIR/m);
  });
});

describe('a bug is one line too', () => {
  it('an unexpected exception becomes "internal error" with exit status 1, the stack trace only on request', async () => {
    const { COMMANDS } = await import('../../bench/cli.js');
    const saved = COMMANDS.gen.run;
    COMMANDS.gen.run = () => {
      throw new TypeError('boom');
    };
    try {
      const r = await cli('gen', 'interpreter');
      expect(r.code).toBe(1);
      expect(r.err).toBe('virtstrat: internal error: TypeError: boom\n(a bug in virtstrat: set VIRTSTRAT_DEBUG=1 for the stack trace)\n');
    } finally {
      COMMANDS.gen.run = saved;
    }
  });
});
