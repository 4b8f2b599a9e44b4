/**
 * Robustness: `assemble` never throws, whatever the input, and its result is always well formed.
 * Deterministic (seeded) random strings and mutations of valid programs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng, pick, randInt } from '../support/rng.js';
import { assemble, formatError, type AssembleOptions, type AssembleResult } from '../../src/asm/index.js';
import { topLevelSource, WORKLOADS_DIR } from '../../src/workload/build.js';
import { disassemble } from '../../src/isa/disasm.js';
import { INSTRUCTIONS } from '../../src/isa/table.js';


/** The result is consistent: ok iff no errors, errors positioned and sorted, formatError works. */
function checkWellFormed(res: AssembleResult, label: string): void {
  const fail = (why: string): never => {
    throw new Error(`${label}: ${why}`);
  };
  if (!(res.image instanceof Uint8Array)) fail('image is not a Uint8Array');
  if (res.ok !== (res.errors.length === 0)) fail('ok does not match errors');
  if (res.image.length > 64 * 1024 * 1024) fail('image larger than 64 MiB');
  for (const e of res.errors) {
    if (!(Number.isInteger(e.line) && e.line >= 1 && Number.isInteger(e.column) && e.column >= 1)) fail(`bad position ${JSON.stringify(e)}`);
    if (typeof e.message !== 'string' || e.message.length === 0) fail(`empty message ${JSON.stringify(e)}`);
    if (/internal/.test(e.message)) fail(`internal error ${JSON.stringify(e)}`);
    if (typeof e.text !== 'string' || e.column > e.text.length + 1) fail(`column outside the line ${JSON.stringify(e)}`);
    if (typeof formatError(e) !== 'string') fail('formatError');
  }
  for (const l of res.lines) if (l.address + l.size > res.image.length) fail(`source line outside the image ${JSON.stringify(l)}`);
}

function run(src: string, label: string, options?: AssembleOptions): AssembleResult {
  let res: AssembleResult | undefined;
  expect(() => {
    res = assemble(src, 'fuzz.s', options);
  }, `${label}: ${JSON.stringify(src.slice(0, 300))}`).not.toThrow();
  if (!res) throw new Error('no result');
  checkWellFormed(res, `${label}: ${JSON.stringify(src.slice(0, 300))}`);
  return res;
}

const VALID = `
; a small but complete program touching most features
.equ CONSOLE, 0x10
COUNT = 3
.macro print_char reg
        out CONSOLE, \\reg
.endm
.macro spin n
loop\\@: addi r1, r1, -1
        bne loop\\@
.endm
start:  li sp, stack_top
        li r1, message
1:      ldb r2, [r1]
        cmpi r2, 0
        beq 2f
        print_char r2
        addi r1, r1, 1
        jmp 1b
2:      movi r1, COUNT
        spin COUNT
.ifdef PARAVIRT
        vmcall
.elif COUNT > 2
        mfcr r3, ptbr
        mtcr tvb, r3
.else
        .error "unreachable"
.endif
        hlt
message: .asciz "Hello, \\"VS32\\"!\\n"
        .align 4
table:  .word start, message, . + 4, hi(table), lo(-1), (1 << 31) >>> 31
        .byte 'x', -1, 0xff
        .space 16, 0
stack_top:
.assert stack_top > table, "layout"
`;

const ALPHABET = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...' \t\t\n\n\n,,,:::;;[]()+-*/%<>=!&|^~."\'\\@#$_',
  '\u00e9', '\u20ac', '\u{1F600}', '\r', '\0', '\uFEFF',
  ...['r1', 'sp', 'cr3', 'ptbr', '0x', '0b', '1b', '1f', '\\@', '\\x', '.if', '.endif', '.macro', '.endm', '.include'],
  ...['.word', '.byte', '.space', '.org', '.align', '.equ', '.ascii', '.error', '.assert', 'li', 'hi(', 'lo(', '>>>', '<<'],
  ...INSTRUCTIONS.map((d) => d.name),
];

describe('assemble never throws', () => {
  it('on seeded random strings', () => {
    const r = rng(1234);
    for (let i = 0; i < 400; i++) {
      let s = '';
      const n = Math.floor(r() * 200);
      for (let k = 0; k < n; k++) s += pick(r, ALPHABET);
      run(s, `random #${i}`);
    }
  });

  it('on the valid program itself (which must assemble cleanly)', () => {
    const res = run(VALID, 'valid');
    if (!res.ok) throw new Error(res.errors.map(formatError).join('\n'));
    expect(run(VALID, 'valid+PARAVIRT', { defines: { PARAVIRT: 1 } }).ok).toBe(true);
  });

  it('on seeded mutations of a valid program', () => {
    const r = rng(42);
    const lines = VALID.split('\n');
    for (let i = 0; i < 400; i++) {
      const mutated = [...lines];
      const edits = 1 + Math.floor(r() * 4);
      for (let k = 0; k < edits; k++) {
        const li = Math.floor(r() * mutated.length);
        const line = mutated[li];
        const at = Math.floor(r() * (line.length + 1));
        switch (Math.floor(r() * 7)) {
          case 0: // delete a character
            mutated[li] = line.slice(0, at) + line.slice(at + 1);
            break;
          case 1: // insert a token
            mutated[li] = line.slice(0, at) + pick(r, ALPHABET) + line.slice(at);
            break;
          case 2: // duplicate a line (duplicate labels, unbalanced blocks)
            mutated.splice(li, 0, line);
            break;
          case 3: // delete a line (unbalanced .if/.macro)
            mutated.splice(li, 1);
            break;
          case 4: // swap two lines
            {
              const lj = Math.floor(r() * mutated.length);
              [mutated[li], mutated[lj]] = [mutated[lj], mutated[li]];
            }
            break;
          case 5: // truncate a line
            mutated[li] = line.slice(0, at);
            break;
          default: // replace a number by an extreme one
            mutated[li] = line.replace(/\b\d+\b/, pick(r, ['0', '-1', '4294967295', '4294967296', '0x7fffffff', '99999999999', '0b', '1_']));
        }
      }
      run(mutated.join('\n'), `mutation #${i}`, r() < 0.3 ? { defines: { PARAVIRT: 1 } } : undefined);
    }
  });

  it('on disassembled random words: the text assembles back to exactly the same words', () => {
    const r = rng(7);
    const words: number[] = [];
    for (let i = 0; i < 2000; i++) {
      // Half fully random words, half canonical-looking ones (a defined opcode, random low bits).
      const w = Math.floor(r() * 2 ** 32) | 0;
      words.push(i % 2 === 0 ? w : ((pick(r, INSTRUCTIONS).opcode << 24) | (w & 0xffffff)) | 0);
    }
    const text = ['.org 0x100', ...words.map((w, i) => disassemble(w, 0x100 + 4 * i))];
    const res = run(text.join('\n'), 'disassembly');
    if (!res.ok) throw new Error(res.errors.slice(0, 5).map(formatError).join('\n'));
    const dv = new DataView(res.image.buffer, res.image.byteOffset, res.image.byteLength);
    words.forEach((w, i) => {
      const got = dv.getInt32(0x100 + 4 * i, true);
      if (got !== w) throw new Error(`${text[i + 1]}: assembled to 0x${(got >>> 0).toString(16)}, want 0x${(w >>> 0).toString(16)}`);
    });
  });

  it('on pathological inputs: deep nesting, long lines, runaway macros and huge sizes', () => {
    const cases = [
      '.word ' + '('.repeat(5000) + '1' + ')'.repeat(5000),
      '.word ' + '-'.repeat(5000) + '1',
      '.word ' + Array(5000).fill('1').join(' + '),
      'x'.repeat(100000),
      '"'.repeat(1001),
      '.macro m\nm\nm\n.endm\nm',
      '.macro m\n.endm\n'.repeat(3) + '.endm\n'.repeat(3),
      '.if 1\n'.repeat(1000),
      '.endif\n'.repeat(1000),
      '.space 0x7fffffff',
      '.space -0x80000000',
      '.org 0xffffffff',
      '.align 0x80000000',
      '.align 0x40000000',
      Array.from({ length: 300 }, (_, i) => `A${i} = A${i + 1} + 1`).join('\n') + '\nA300 = 1\n.word A0',
      Array.from({ length: 100 }, (_, i) => `B${i} = B${(i + 1) % 100}`).join('\n'),
      '.include "fuzz.s"',
      '\\@\\x\\\\',
      '1: 2: 3: 0x: 1b: .word 1b',
      '\u0000\u0001\u007f\uffff',
    ];
    cases.forEach((c, i) => run(c, `pathological #${i}`, { readFile: () => '.include "fuzz.s"' }));
  });

  it('with odd options: readFile that throws a non-Error or returns a non-string, odd defines', () => {
    run('.include "a.s"', 'throws string', {
      readFile: () => {
        throw 42;
      },
    });
    run('.include "a.s"', 'returns number', { readFile: (() => 5) as unknown as (p: string) => string });
    run('.word X', 'odd defines', { defines: { X: Number.NaN, 'bad name': 1, Y: 2 ** 40, Z: -1 } as Record<string, number> });
    run('nop', 'null options', null as unknown as AssembleOptions);
    expect(() => assemble(undefined as unknown as string, 'u.s')).not.toThrow();
  });
});

describe('mutated real sources: the guest kernel', () => {
  // vskernel is the largest real program (seven files, macros, conditional assembly, includes). Each round
  // mutates one of its files — flipped bytes, a truncation, shuffled lines — and assembles the whole kernel with
  // that file in place of the real one, natively and paravirtually. Whatever happens, the assembler must answer
  // with errors that name the file, line and column, never throw.
  const dir = join(WORKLOADS_DIR, 'kernel');
  const sources = new Map(readdirSync(dir).filter((f) => f.endsWith('.s')).map((f) => [join(dir, f), readFileSync(join(dir, f), 'utf8')]));

  // The hello workload as src/workload/build.ts assembles it: kernel, user library, program.
  const HELLO_TOP = topLevelSource('programs/hello.s');
  const TOP_NAME = join(WORKLOADS_DIR, 'hello.fuzz.generated.s');

  it('the unmutated kernel assembles (so a failure below is the mutation\'s)', () => {
    for (const defines of [{ SCALE: 1 }, { SCALE: 1, PARAVIRT: 1 }] as Record<string, number>[]) expect(assemble(HELLO_TOP, TOP_NAME, { defines }).errors).toEqual([]);
  });

  const mutate = (r: () => number, text: string): string => {
    switch (randInt(r, 0, 2)) {
      case 0: {
        // Flip a few bytes to arbitrary ones (control characters and non-ASCII included).
        const bytes = Buffer.from(text, 'utf8');
        for (let k = randInt(r, 1, 8); k > 0; k--) bytes[randInt(r, 0, bytes.length - 1)] = randInt(r, 0, 255);
        return bytes.toString('utf8');
      }
      case 1: // Truncate anywhere: mid-token, mid-macro, mid-.if.
        return text.slice(0, randInt(r, 0, text.length));
      default: {
        // Shuffle a run of lines: labels before their use, .endm before .macro, .endif before .if.
        const lines = text.split('\n');
        const from = randInt(r, 0, lines.length - 1);
        const run = lines.slice(from, from + randInt(r, 2, 40));
        for (let i = run.length - 1; i > 0; i--) {
          const j = randInt(r, 0, i);
          [run[i], run[j]] = [run[j], run[i]];
        }
        lines.splice(from, run.length, ...run);
        return lines.join('\n');
      }
    }
  };

  it('byte flips, truncations and line shuffles of workloads/kernel/*.s never throw and always point at file:line:column', () => {
    const r = rng(8);
    const files = [...sources.keys()];
    let failed = 0;
    for (let round = 0; round < 70; round++) {
      const target = files[round % files.length];
      const mutated = mutate(r, sources.get(target)!);
      const options: AssembleOptions = {
        readFile: (path) => (path === target ? mutated : readFileSync(path, 'utf8')),
        defines: round % 2 === 0 ? { SCALE: 1 } : { SCALE: 1, PARAVIRT: 1 },
      };
      const label = `round ${round}: ${basename(target)}`;
      let res: AssembleResult | undefined;
      expect(() => (res = assemble(HELLO_TOP, TOP_NAME, options)), label).not.toThrow();
      checkWellFormed(res!, label);
      if (res!.ok) continue;
      failed++;
      for (const e of res!.errors) {
        expect(formatError(e), label).toMatch(new RegExp(`^${e.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${e.line}:${e.column}: error: `));
        // Errors point into the sources, where the mutation has its effects.
        expect(e.file.startsWith(WORKLOADS_DIR), `${label}: ${e.file}`).toBe(true);
      }
    }
    // Most mutations break the kernel (a shuffle inside a data table, or a flip inside a comment, may not).
    expect(failed).toBeGreaterThan(35);
  });
});

