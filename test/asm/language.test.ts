/**
 * The assembly language: statements, numbers, expressions, directives, labels, li, macros, conditional
 * assembly, .include and layout. Each test names the behaviour it proves.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assemble, assembleFile, formatError, type AssembleOptions, type AssembleResult } from '../../src/asm/index.js';
import { encode } from '../../src/isa/encoding.js';
import { insnByName } from '../../src/isa/table.js';

function ok(src: string, options?: AssembleOptions, file = 'test.s'): AssembleResult {
  const res = assemble(src, file, options);
  if (!res.ok) throw new Error(`unexpected errors:\n${res.errors.map(formatError).join('\n')}`);
  expect(res.errors).toEqual([]);
  return res;
}

function words(res: AssembleResult, from = 0, count = Math.floor((res.image.length - from) / 4)): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const a = from + 4 * i;
    const b = res.image;
    out.push((b[a] | (b[a + 1] << 8) | (b[a + 2] << 16) | (b[a + 3] << 24)) | 0);
  }
  return out;
}

/** The word of one instruction, from the table's encoder. */
function enc(name: string, f: { rd?: number; rs?: number; rt?: number; imm?: number }): number {
  const def = insnByName(name);
  if (!def) throw new Error(`no instruction ${name}`);
  return encode(def, f);
}

/** Value of `.word expr` (evaluates an expression through the assembler). */
function value(expr: string, options?: AssembleOptions): number {
  return words(ok(`.word ${expr}`, options))[0];
}

describe('statements', () => {
  it('assembles a label, an instruction and a comment on one line; ; and // comments are ignored', () => {
    const res = ok('start: add r1, r2, r3 ; comment\n// whole-line comment\n\n   nop // trailing');
    expect(words(res)).toEqual([enc('add', { rd: 1, rs: 2, rt: 3 }), enc('nop', {})]);
    expect(res.symbols.get('start')).toBe(0);
  });

  it('accepts several labels before one statement, and a label alone on a line', () => {
    const res = ok('a: b: nop\nc:\nd: nop');
    expect(res.symbols.get('a')).toBe(0);
    expect(res.symbols.get('b')).toBe(0);
    expect(res.symbols.get('c')).toBe(4);
    expect(res.symbols.get('d')).toBe(4);
  });

  it('treats mnemonics, directives and registers case-insensitively but symbols case-sensitively', () => {
    const res = ok('ADD R1, Sp, FP\n.WORD Foo, foo\nFoo: .Byte 1\nfoo: .byte 2');
    expect(words(res, 0, 3)).toEqual([enc('add', { rd: 1, rs: 15, rt: 14 }), 12, 13]);
  });

  it('names sp = r15 and fp = r14, and control registers by number or by name', () => {
    const res = ok('mov sp, fp\nmfcr r1, ptbr\nmfcr r1, cr3\nmtcr CTRL, r2\nmtcr tpr, r2\nmtcr cr15, r2');
    expect(words(res)).toEqual([
      enc('mov', { rd: 15, rs: 14 }),
      enc('mfcr', { rd: 1, rs: 3 }),
      enc('mfcr', { rd: 1, rs: 3 }),
      enc('mtcr', { rd: 0, rs: 2 }),
      enc('mtcr', { rd: 8, rs: 2 }),
      enc('mtcr', { rd: 15, rs: 2 }),
    ]);
  });

  it('parses memory operands [reg], [reg + e], [reg - e] with the sign belonging to the displacement', () => {
    const res = ok('ldw r1, [r2]\nstw r1, [sp + 8]\nldb r3, [fp - 4]\nldw r1, [r2 - 4 + 2]\nldw r1, [r2 + 2 * 3]');
    expect(words(res)).toEqual([
      enc('ldw', { rd: 1, rs: 2, imm: 0 }),
      enc('stw', { rd: 1, rs: 15, imm: 8 }),
      enc('ldb', { rd: 3, rs: 14, imm: -4 }),
      enc('ldw', { rd: 1, rs: 2, imm: -2 }),
      enc('ldw', { rd: 1, rs: 2, imm: 6 }),
    ]);
  });

  it('encodes branch targets relative to the next instruction, backwards and forwards', () => {
    const res = ok('top: nop\n beq top\n jmp end\n nop\nend: call top');
    expect(words(res)).toEqual([
      enc('nop', {}),
      enc('beq', { imm: -2 }),
      enc('jmp', { imm: 1 }),
      enc('nop', {}),
      enc('call', { imm: -5 }),
    ]);
  });

  it('records one source-map entry per emitted instruction or data directive', () => {
    const res = ok('nop\n\nlabel:\n.word 1, 2\nli r1, 5\n.byte 1\n.align 4\n.equ X, 1\n.space 3');
    expect(res.lines).toEqual([
      { address: 0, size: 4, file: 'test.s', line: 1 },
      { address: 4, size: 8, file: 'test.s', line: 4 },
      { address: 12, size: 8, file: 'test.s', line: 5 },
      { address: 20, size: 1, file: 'test.s', line: 6 },
      { address: 21, size: 3, file: 'test.s', line: 7 },
      { address: 24, size: 3, file: 'test.s', line: 9 },
    ]);
  });
});

describe('numbers and characters', () => {
  it('reads decimal, hex, binary and octal literals with _ separators', () => {
    expect(value('1_000_000')).toBe(1000000);
    expect(value('0x7fff_FFFF')).toBe(0x7fffffff);
    expect(value('0XfF')).toBe(255);
    expect(value('0b1010_0101')).toBe(0xa5);
    expect(value('0o777')).toBe(511);
    expect(value('007')).toBe(7);
  });

  it('keeps values as 32-bit: 0xffffffff and 4294967295 are -1', () => {
    expect(value('0xffffffff')).toBe(-1);
    expect(value('4294967295')).toBe(-1);
    expect(ok('X = 0xffffffff').symbols.get('X')).toBe(-1);
  });

  it('reads character literals with escapes', () => {
    expect(words(ok(".word 'a', '\\n', '\\t', '\\r', '\\0', '\\\\', '\\'', '\\\"', '\\x7f', ' '"))).toEqual([
      97, 10, 9, 13, 0, 92, 39, 34, 127, 32,
    ]);
  });

  it('emits .ascii bytes with escapes (UTF-8 for non-ASCII) and .asciz with a NUL after each string', () => {
    const res = ok('.ascii "a\\tb", "\\x41\\"", "é"\n.asciz "hi", ""');
    expect([...res.image]).toEqual([97, 9, 98, 0x41, 34, 0xc3, 0xa9, 104, 105, 0, 0]);
  });
});

describe('expressions', () => {
  it('follows C precedence', () => {
    expect(value('2 + 3 * 4')).toBe(14);
    expect(value('(2 + 3) * 4')).toBe(20);
    expect(value('1 << 2 + 1')).toBe(8); // + binds tighter than <<
    expect(value('1 | 2 ^ 3 & 1')).toBe(1 | (2 ^ (3 & 1)));
    expect(value('1 + 2 == 3')).toBe(1);
    expect(value('3 > 2 == 1')).toBe(1); // relational binds tighter than equality
    expect(value('0 || 1 && 0')).toBe(0); // && binds tighter than ||
    expect(value('10 - 4 - 3')).toBe(3); // left associative
    expect(value('100 / 10 / 5')).toBe(2);
    expect(value('-2 * -3')).toBe(6);
    expect(value('~0')).toBe(-1);
    expect(value('!5 + !0')).toBe(1);
  });

  it('wraps all arithmetic to 32-bit two\'s complement', () => {
    expect(value('0x7fffffff + 1')).toBe(-0x80000000);
    expect(value('0x10000 * 0x10000')).toBe(0);
    expect(value('-0x80000000 / -1')).toBe(-0x80000000);
    expect(value('-(-0x80000000)')).toBe(-0x80000000);
    expect(value('0 - 1')).toBe(-1);
  });

  it('divides truncating towards zero; % takes the sign of the dividend', () => {
    expect(value('-7 / 2')).toBe(-3);
    expect(value('-7 % 2')).toBe(-1);
    expect(value('7 % -2')).toBe(1);
  });

  it('has arithmetic >> and logical >>>, shift counts taken modulo 32', () => {
    expect(value('-8 >> 1')).toBe(-4);
    expect(value('-8 >>> 28')).toBe(15);
    expect(value('1 << 31')).toBe(-0x80000000);
    expect(value('1 << 33')).toBe(2);
  });

  it('compares signed and yields 1 or 0', () => {
    expect(value('-1 < 0')).toBe(1);
    expect(value('0xffffffff > 0')).toBe(0);
    expect(value('2 <= 2')).toBe(1);
    expect(value('2 != 2')).toBe(0);
  });

  it('short-circuits && and || (the other side is not evaluated)', () => {
    expect(value('0 && 1 / 0')).toBe(0);
    expect(value('1 || 1 / 0')).toBe(1);
  });

  it('provides hi() and lo()', () => {
    expect(value('hi(0x12345678)')).toBe(0x1234);
    expect(value('lo(0x12345678)')).toBe(0x5678);
    expect(value('hi(-1)')).toBe(0xffff);
    expect(value('HI(0x10000)')).toBe(1);
  });

  it('uses . as the address of the current statement', () => {
    const res = ok('nop\nhere: .word ., . + 4\n.word here - .');
    expect(words(res)).toEqual([enc('nop', {}), 4, 8, -8]);
  });
});

describe('labels and symbols', () => {
  it('defines constants with .equ and NAME = expr; redefinition with the same value is allowed', () => {
    const res = ok('.equ SIZE, 16\nHALF = SIZE / 2\nSIZE = 16\n.word SIZE, HALF');
    expect(res.symbols.get('SIZE')).toBe(16);
    expect(res.symbols.get('HALF')).toBe(8);
    expect(words(res)).toEqual([16, 8]);
  });

  it('lets .equ and .word refer forward', () => {
    const res = ok('.equ LEN, end - start\n.word LEN, end\nstart: .space 12\nend:');
    expect(res.symbols.get('LEN')).toBe(12);
    expect(words(res, 0, 2)).toEqual([12, 20]);
  });

  it('resolves local labels: Nb = nearest preceding, Nf = nearest following (GNU style)', () => {
    const res = ok(['1: nop', '   jmp 1b', '1: jmp 1f', '   jmp 1b', '1: .word 1b, 1f', '1: nop'].join('\n'));
    expect(words(res)).toEqual([
      enc('nop', {}),
      enc('jmp', { imm: -2 }), // to 0
      enc('jmp', { imm: 1 }), // to 16
      enc('jmp', { imm: -2 }), // to 8
      16, // 1b on the line that defines 1: is that line
      24, // 1f skips the label on its own line
      enc('nop', {}),
    ]);
  });

  it('a local label on the same line as a branch refers to that line with Nb (1: jmp 1b loops)', () => {
    expect(words(ok('nop\n1: jmp 1b'))[1]).toBe(enc('jmp', { imm: -1 }));
  });

  it('distinguishes 0b (local label 0 backwards) from 0b101 (binary)', () => {
    const res = ok('0: .word 0b, 0b101');
    expect(words(res)).toEqual([0, 5]);
  });

  it('returns labels and constants in symbols, predefined symbols included', () => {
    const res = ok('x: nop\nY = 3', { defines: { SCALE: 1000 } });
    expect([...res.symbols]).toEqual([
      ['SCALE', 1000],
      ['x', 0],
      ['Y', 3],
    ]);
  });
});

describe('li pseudo-instruction', () => {
  it('always emits lui + ori (2 words), even for small values', () => {
    const res = ok('li r3, 5');
    expect(words(res)).toEqual([enc('lui', { rd: 3, imm: 0 }), enc('ori', { rd: 3, rs: 3, imm: 5 })]);
  });

  it('loads any 32-bit value, including negative ones', () => {
    const res = ok('li r1, 0xdeadbeef\nli sp, -2');
    expect(words(res)).toEqual([
      enc('lui', { rd: 1, imm: 0xdead }),
      enc('ori', { rd: 1, rs: 1, imm: 0xbeef }),
      enc('lui', { rd: 15, imm: 0xffff }),
      enc('ori', { rd: 15, rs: 15, imm: 0xfffe }),
    ]);
  });

  it('accepts forward references; labels after it account for its 8 bytes', () => {
    const res = ok('li r2, data\nafter: nop\n.org 0x12344\ndata: .word 1');
    expect(res.symbols.get('after')).toBe(8);
    expect(words(res, 0, 2)).toEqual([enc('lui', { rd: 2, imm: 1 }), enc('ori', { rd: 2, rs: 2, imm: 0x2344 })]);
  });
});

describe('data directives', () => {
  it('.word stores little-endian words and accepts -2^31..2^32-1', () => {
    const res = ok('.word 0x11223344, -1, 0x80000000, -0x80000000');
    expect([...res.image.slice(0, 4)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect(words(res)).toEqual([0x11223344, -1, -0x80000000, -0x80000000]);
  });

  it('.byte stores bytes in -128..255', () => {
    expect([...ok('.byte 1, 255, -1, -128, \'A\'').image]).toEqual([1, 255, 255, 128, 65]);
  });

  it('.space reserves n bytes, filled with zero or the given byte', () => {
    expect([...ok('.byte 1\n.space 3\n.space 2, 0xaa\n.byte 2').image]).toEqual([1, 0, 0, 0, 0xaa, 0xaa, 2]);
  });

  it('.align pads with zero bytes to a multiple of n', () => {
    const res = ok('.byte 1\n.align 4\nw: .word 7\n.align 16\nend:');
    expect(res.symbols.get('w')).toBe(4);
    expect(res.symbols.get('end')).toBe(16);
    expect(res.image.length).toBe(16);
    expect(ok('.align 8').image.length).toBe(0); // already aligned: nothing emitted
  });

  it('.org moves forward to an absolute address; the gap reads as zero and labels on .org name the new address', () => {
    const res = ok('nop\nstart: .org 0x20\nnop');
    expect(res.symbols.get('start')).toBe(0x20);
    expect(res.image.length).toBe(0x24);
    expect(words(res, 4, 7).every((w) => w === 0)).toBe(true);
    expect(ok('.org 0x10').image.length).toBe(0); // nothing emitted, nothing in the image
  });

  it('.org to the current address is allowed', () => {
    expect(ok('nop\n.org 4\nnop').image.length).toBe(8);
  });

  it('.assert passes silently when the condition holds (also with forward references)', () => {
    ok('.assert end - start == 8, "size"\nstart: .word 1, 2\nend:');
  });
});

describe('macros', () => {
  it('substitutes parameters textually and makes \\@ unique per expansion', () => {
    const src = [
      '.macro spin reg, n',
      '        movi \\reg, \\n',
      'loop\\@: addi \\reg, \\reg, -1',
      '        cmpi \\reg, 0',
      '        bne loop\\@',
      '.endm',
      '        spin r1, 10',
      '        spin r2, 20',
    ].join('\n');
    const res = ok(src);
    expect(words(res)).toEqual([
      enc('movi', { rd: 1, imm: 10 }),
      enc('addi', { rd: 1, rs: 1, imm: -1 }),
      enc('cmpi', { rs: 1, imm: 0 }),
      enc('bne', { imm: -3 }),
      enc('movi', { rd: 2, imm: 20 }),
      enc('addi', { rd: 2, rs: 2, imm: -1 }),
      enc('cmpi', { rs: 2, imm: 0 }),
      enc('bne', { imm: -3 }),
    ]);
    const loops = [...res.symbols.keys()].filter((k) => k.startsWith('loop'));
    expect(loops).toHaveLength(2);
    expect(new Set(loops).size).toBe(2);
  });

  it('supports default arguments, macro names in any case, and \\() as a separator', () => {
    const res = ok('.macro put v, w=7\n.byte \\v, \\w\nlbl_\\v\\()_end:\n.endm\nPUT 1\nput 2, 3');
    expect([...res.image]).toEqual([1, 7, 2, 3]);
    expect(res.symbols.get('lbl_1_end')).toBe(2);
  });

  it('passes arguments containing commas inside brackets or strings as one argument', () => {
    const res = ok('.macro ld2 dst, src\nldw \\dst, \\src\n.endm\n.macro s t\n.ascii \\t\n.endm\nld2 r1, [r2 + 4]\ns "a,b"');
    expect(words(res, 0, 1)).toEqual([enc('ldw', { rd: 1, rs: 2, imm: 4 })]);
    expect([...res.image.slice(4)]).toEqual([97, 44, 98]);
  });

  it('allows recursion with a terminating conditional', () => {
    const res = ok('.macro count n\n.if \\n > 0\n.byte \\n\ncount \\n - 1\n.endif\n.endm\ncount 3');
    expect([...res.image]).toEqual([3, 2, 1]);
  });

  it('expands macros that invoke other macros, and macros defined inside macros', () => {
    const res = ok('.macro outer x\n.macro inner_\\x\n.byte \\x\n.endm\ninner_\\x\n.endm\nouter 5\ninner_5');
    expect([...res.image]).toEqual([5, 5]);
  });

  it('maps macro-expanded lines to the macro body in the source map', () => {
    const res = ok('.macro two\nnop\nnop\n.endm\ntwo');
    expect(res.lines.map((l) => l.line)).toEqual([2, 3]);
  });
});

describe('conditional assembly', () => {
  it('.if / .elif / .else / .endif pick exactly one branch', () => {
    const pick = (n: number): number[] =>
      [...ok(`.if N == 1\n.byte 1\n.elif N == 2\n.byte 2\n.elif N == 3\n.byte 3\n.else\n.byte 9\n.endif`, { defines: { N: n } }).image];
    expect(pick(1)).toEqual([1]);
    expect(pick(2)).toEqual([2]);
    expect(pick(3)).toEqual([3]);
    expect(pick(4)).toEqual([9]);
  });

  it('.ifdef / .ifndef see predefined symbols, labels and constants defined so far', () => {
    const src = '.ifdef PARAVIRT\n.byte 1\n.else\n.byte 2\n.endif\n.ifndef LIMIT\nLIMIT = 5\n.endif\n.byte LIMIT';
    expect([...ok(src, { defines: { PARAVIRT: 1 } }).image]).toEqual([1, 5]);
    expect([...ok(src).image]).toEqual([2, 5]);
    expect([...ok(src, { defines: { LIMIT: 9 } }).image]).toEqual([2, 9]);
    expect([...ok('x: nop\n.ifdef x\n.byte 1\n.endif\n.ifdef y\n.byte 2\n.endif\ny:').image]).toEqual([0, 0, 0, 0x4f, 1]);
  });

  it('nests, and skips everything (including errors) inside false branches', () => {
    const src = [
      '.if SCALE >= 1000',
      '  .if 0',
      '    this is not assembled !!',
      '    .error "never"',
      '  .else',
      '    .byte 1',
      '  .endif',
      '.else',
      '  .if 1',
      '    .byte 2',
      '  .endif',
      '.endif',
    ].join('\n');
    expect([...ok(src, { defines: { SCALE: 1000 } }).image]).toEqual([1]);
    expect([...ok(src, { defines: { SCALE: 10 } }).image]).toEqual([2]);
  });

  it('does not define macros or labels inside false branches', () => {
    const res = ok('.if 0\nx: .byte 1\n.macro m\n.endm\n.endif\n.ifdef x\n.byte 9\n.endif');
    expect(res.symbols.has('x')).toBe(false);
    expect(res.image.length).toBe(0);
  });
});

describe('.include', () => {
  const files: Record<string, string> = {
    'main.s': '.include "lib/consts.s"\n.word VALUE\n.include "lib/code.s"',
    'lib/consts.s': 'VALUE = 42\n',
    'lib/code.s': '.include "more.s"\nnop',
    'lib/more.s': '.byte 1, 2, 3, 4',
    'cyc/a.s': '.include "b.s"',
    'cyc/b.s': 'nop\n.include "a.s"',
  };
  const readFile = (p: string): string => {
    const t = files[p];
    if (t === undefined) throw new Error(`ENOENT: ${p}`);
    return t;
  };

  it('includes files relative to the including file, with errors and source lines naming the included file', () => {
    const res = ok(files['main.s'], { readFile }, 'main.s');
    expect(words(res)).toEqual([42, 0x04030201, enc('nop', {})]);
    expect(res.lines.map((l) => `${l.file}:${l.line}`)).toEqual(['main.s:2', 'lib/more.s:1', 'lib/code.s:2']);
  });

  it('assembleFile reads the main file through readFile', () => {
    const res = assembleFile('main.s', { readFile });
    expect(res.ok).toBe(true);
    expect(res.image.length).toBe(12);
  });

  it('reports an include cycle with the whole chain', () => {
    const res = assemble(files['cyc/a.s'], 'cyc/a.s', { readFile });
    expect(res.errors).toHaveLength(1);
    expect(res.errors[0]).toMatchObject({ file: 'cyc/b.s', line: 2, column: 10 });
    expect(res.errors[0].message).toBe('include cycle: cyc/a.s -> cyc/b.s -> cyc/a.s');
  });

  it('reports includes nested more than 32 deep, naming the chain', () => {
    const deep = (p: string): string => `.include "f${Number(p.slice(1, -2)) + 1}.s"`;
    const res = assemble(deep('f0.s'), 'f0.s', { readFile: deep });
    expect(res.errors).toHaveLength(1);
    expect(res.errors[0].message).toMatch(/^includes nested too deeply \(more than 32 levels\): f0\.s -> f1\.s -> .* -> f33\.s$/);
    expect(res.errors[0].file).toBe('f32.s');
  });

  it('reports a file that cannot be read at the file name', () => {
    const res = assemble('nop\n  .include "nope.s"', 'main.s', { readFile });
    expect(res.errors).toEqual([
      { file: 'main.s', line: 2, column: 12, message: "cannot read include file 'nope.s' (ENOENT: nope.s)", text: '  .include "nope.s"' },
    ]);
  });
});

describe('layout and limits', () => {
  it('starts the image at address 0 and ends at the highest byte emitted', () => {
    const res = ok('.org 8\n.byte 0x55');
    expect([...res.image]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0x55]);
  });

  it('rejects .space and .org beyond 64 MiB', () => {
    expect(assemble('.space 0x4000001', 't.s').errors[0].message).toMatch(/64 MiB/);
    expect(assemble('.org 0x4000001', 't.s').errors[0].message).toMatch(/64 MiB/);
    expect(assemble('.org 0x4000000 - 4\nnop', 't.s').ok).toBe(true);
  });
});

describe('docs/assembler.md', () => {
  const manual = readFileSync(new URL('../../docs/assembler.md', import.meta.url), 'utf8');
  const blocks = [...manual.matchAll(/```asm\n([^]*?)```/g)].map((m) => m[1]);

  it('has examples, and the opening example is a complete program', () => {
    expect(blocks.length).toBeGreaterThan(5);
    const res = ok(blocks[0]);
    expect(res.symbols.get('start')).toBe(0);
  });

  it('every asm example assembles, apart from labels that a fragment leaves to the reader', () => {
    blocks.forEach((b) => {
      const res = assemble(b, 'manual.s', { defines: { SCALE: 1000 } });
      const real = res.errors.filter((e) => !/^undefined symbol/.test(e.message));
      expect(real.map(formatError)).toEqual([]);
    });
  });
});
