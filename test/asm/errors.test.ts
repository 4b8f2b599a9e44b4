/**
 * Error reporting: every mistake is reported with file, line, column of the offending token and a
 * message naming it and what was expected; all errors of a file are reported, in source order.
 */
import { describe, expect, it } from 'vitest';
import { assemble, assembleFile, formatError, type AsmError, type AssembleOptions } from '../../src/asm/index.js';

/** The single error of a one-mistake program. */
function only(src: string, options?: AssembleOptions): AsmError {
  const res = assemble(src, 'err.s', options);
  expect(res.ok).toBe(false);
  if (res.errors.length !== 1) throw new Error(`expected one error, got:\n${res.errors.map(formatError).join('\n')}`);
  return res.errors[0];
}

/** [line, column, message] of every error. */
function all(src: string, options?: AssembleOptions): [number, number, string][] {
  return assemble(src, 'err.s', options).errors.map((e) => [e.line, e.column, e.message]);
}

describe('one mistake: position and message', () => {
  const cases: [string, string, number, number, string | RegExp][] = [
    ['unknown mnemonic, with a suggestion', 'nop\n  ad r1, r2, r3', 2, 3, "unknown instruction 'ad' (did you mean 'add'?)"],
    ['transposed mnemonic', 'mvo r1, r2', 1, 1, "unknown instruction 'mvo' (did you mean 'mov'?)"],
    ['label without colon', 'loop nop', 1, 1, "unknown instruction 'loop' (if it is a label, write 'loop:')"],
    ['immediate out of range (s16)', 'addi r1, r2, 70000', 1, 14, 'immediate 70000 out of range for addi (s16: -32768..32767)'],
    ['immediate out of range (u16)', 'ori r1, r1, 0x10000', 1, 13, 'immediate 65536 out of range for ori (u16: 0..65535 or -32768..-1)'],
    ['immediate out of range (u5)', 'shli r1, r1, 32', 1, 14, 'immediate 32 out of range for shli (u5: 0..31)'],
    ['port out of range', 'in r1, 0x10000', 1, 8, 'port 65536 out of range for in (0..65535)'],
    ['displacement out of range', 'ldw r1, [r2 + 40000]', 1, 15, 'displacement 40000 out of range for ldw (s16: -32768..32767)'],
    ['unknown register', 'add r16, r1, r2', 1, 5, "unknown register 'r16' (registers are r0..r15, sp, fp)"],
    ['number where a register goes', 'add r1, 5, r2', 1, 9, "expected a register, found '5' (registers are r0..r15, sp, fp)"],
    ['register where an immediate goes', 'addi r1, r2, r3', 1, 14, "expected an immediate value, found register 'r3'"],
    ['unknown control register', 'mfcr r1, cr16', 1, 10, /^unknown control register 'cr16' \(control registers are cr0\.\.cr15 or ctrl, tvb/],
    ['general register where a control register goes', 'mtcr r1, r2', 1, 6, /^expected a control register, found 'r1'/],
    ['too few operands', 'add r1, r2', 1, 11, "add expects 3 operands: rd, rs, rt (found 2; e.g. 'add r1, r2, r3')"],
    ['no operands at all', 'add', 1, 1, "add expects 3 operands: rd, rs, rt (found 0; e.g. 'add r1, r2, r3')"],
    ['too many operands', 'add r1, r2, r3, r4', 1, 15, /^unexpected ',' after operand 3: add expects 3 operands: rd, rs, rt/],
    ['operand for an instruction without operands', 'nop r1', 1, 5, "unexpected 'r1': nop takes no operands"],
    ['missing comma', 'add r1 r2, r3', 1, 8, "unexpected 'r2' after operand 1 (expected ',')"],
    ['memory operand without brackets', 'ldw r1, r2', 1, 9, "expected a memory operand like '[r2 + 8]', found 'r2'"],
    ['unclosed memory operand', 'ldw r1, [r2 + 4', 1, 16, "expected ']' in memory operand, found end of line"],
    ['unterminated string', '.ascii "abc', 1, 8, `unterminated string (missing closing '"')`],
    ['unknown escape', '.ascii "a\\qb"', 1, 10, /^unknown escape sequence '\\q'/],
    ['malformed number', '.word 12ab', 1, 7, "malformed number '12ab' (not a decimal literal)"],
    ['number too large', '.word 0x1_0000_0000', 1, 7, "number '0x1_0000_0000' does not fit in 32 bits (largest is 0xffffffff)"],
    ['empty character literal', ".byte ''", 1, 7, "empty character literal ''"],
    ['unexpected character', 'add r1, r2, @r3', 1, 13, "unexpected character '@'"],
    ['missing closing parenthesis', '.word (1 + 2', 1, 13, "expected ')' to close the '(' at column 7, found end of line"],
    ['unknown function', '.word foo(1)', 1, 7, "unknown function 'foo' (the built-in functions are hi and lo)"],
    ['undefined symbol, with a suggestion', 'start: nop\n  jmp strat', 2, 7, "undefined symbol 'strat' (did you mean 'start'?)"],
    ['forward reference where the value is needed at once', '.space later\nlater:', 1, 8, "symbol 'later' must be defined before use here (it is defined later, at err.s:2)"],
    ['never-defined symbol where the value is needed at once', '.if MISSING\n.endif', 1, 5, "undefined symbol 'MISSING'"],
    ['forward local label in .org', '.org 1f\n1:', 1, 6, "local label '1f' must be defined before use here"],
    ['local label without a definition', 'jmp 1b', 1, 5, "undefined local label '1b' (no '1:' before this line)"],
    ['division by zero', 'X = 4\n.word 1 + X / (X - 4)', 2, 13, 'division by zero'],
    ['modulo by zero', '.word 1 % 0', 1, 9, 'modulo by zero'],
    ['duplicate label', 'a: nop\na: nop', 2, 1, "symbol 'a' is already defined (at err.s:1)"],
    ['constant redefined with another value', '.equ N, 1\nN = 2', 2, 1, "'N' redefined with a different value (2; it is 1 from err.s:1)"],
    ['predefined symbol redefined with another value', 'SCALE = 2', 1, 1, "'SCALE' redefined with a different value (2; it is 1000 from the predefined symbols)"],
    ['circular constants', 'A = B + 1\nB = A', 2, 5, "circular definition: the value of 'A' depends on itself"],
    ['register as a label', 'sp: nop', 1, 1, "'sp' is a register name and cannot be used as a label"],
    ['unknown directive, with a suggestion', '.wrod 1', 1, 1, "unknown directive '.wrod' (did you mean '.word'?)"],
    ['.org backwards', '.space 16\n.org 8', 2, 6, '.org 0x8 would move backwards (the current address is 0x10)'],
    ['.align not a power of two', '.align 6', 1, 8, 'alignment must be a power of two, found 6'],
    ['negative .space', '.space -4', 1, 8, '.space size must not be negative, found -4'],
    ['.byte out of range', '.byte 1, 256', 1, 10, 'value 256 out of range for .byte (-128..255)'],
    ['unaligned instruction', '.byte 1\n  nop', 2, 3, "instruction 'nop' at unaligned address 0x1 (instructions must be 4-byte aligned; add '.align 4' before it)"],
    ['branch target not aligned', 'jmp 6', 1, 5, 'branch target 0x6 is not 4-byte aligned'],
    ['branch target out of range', '.org 0x3000000\njmp 0', 2, 5, /^branch target 0x0 out of range for jmp \(off24: -8388608\.\.8388607 words/],
    ['.error directive', 'nop\n  .error "not supported"', 2, 3, 'not supported'],
    ['failed .assert with message', '.assert 1 + 1 == 3, "math"', 1, 9, 'assertion failed: math'],
    ['failed .assert without message', 'X = 2\n.assert X == 3', 2, 9, "assertion failed: 'X == 3'"],
    ['.endif without .if', 'nop\n.endif', 2, 1, "'.endif' without a matching '.if'"],
    ['.else without .if', '.else', 1, 1, "'.else' without a matching '.if'"],
    ['.if without .endif (reported at the .if)', 'nop\n  .ifdef X\nnop', 2, 3, "'.ifdef' without a matching '.endif'"],
    ['two .else', '.if 1\n.else\n.else\n.endif', 3, 1, "second '.else' for the same '.if' (the first is on line 2)"],
    ['.elif after .else', '.if 0\n.else\n.elif 1\n.endif', 3, 1, "'.elif' after '.else' (line 2)"],
    ['.macro without .endm', 'nop\n.macro m a\nnop', 2, 1, "'.macro m' without a matching '.endm'"],
    ['.endm without .macro', '.endm', 1, 1, "'.endm' without a matching '.macro'"],
    ['macro named like an instruction', '.macro add\n.endm', 1, 8, "cannot define macro 'add': it is the name of an instruction"],
    ['macro called with too many arguments', '.macro m a\n.endm\nm 1, 2', 3, 6, "macro 'm' takes 1 argument (a), found 2"],
    ['macro called with too few arguments', '.macro m a, b\n.endm\nm 1', 3, 4, "macro 'm' expects 2 arguments (a, b), missing 'b'"],
    ['missing include file name', '.include nope.s', 1, 10, "'.include' expects a file name in double quotes, found 'nope'"],
    ['trailing junk after a directive', '.endif junk', 1, 1, "'.endif' without a matching '.if'"],
    ['expression expected', '.word 1, ', 1, 9, "expected a word value after ','"],
  ];

  for (const [what, src, line, column, message] of cases) {
    it(`${what}: ${JSON.stringify(src)}`, () => {
      const e = only(src, { defines: { SCALE: 1000 } });
      expect({ file: e.file, line: e.line, column: e.column }).toEqual({ file: 'err.s', line, column });
      if (typeof message === 'string') expect(e.message).toBe(message);
      else expect(e.message).toMatch(message);
      expect(e.text).toBe(src.split('\n')[line - 1]);
    });
  }
});

describe('errors in macro expansions', () => {
  const src = [
    '.macro save reg, slot',
    '        stw \\reg, [sp + \\slot]',
    '.endm',
    '.macro twice r',
    '        save \\r, 4',
    '        save \\r, 70000',
    '.endm',
    '        save r1, 0',
    '        save r16, 0',
    '        twice r2',
  ].join('\n');

  it('report the position inside the macro body and name the invocation site(s)', () => {
    const errs = assemble(src, 'kernel.s').errors;
    expect(errs.map((e) => [e.file, e.line, e.column, e.message])).toEqual([
      ['kernel.s', 2, 13, "unknown register 'r16' (registers are r0..r15, sp, fp) (in macro 'save' invoked at kernel.s:9)"],
      [
        'kernel.s',
        2,
        25,
        "displacement 70000 out of range for stw (s16: -32768..32767) (in macro 'save' invoked at kernel.s:6, in macro 'twice' invoked at kernel.s:10)",
      ],
    ]);
    expect(errs[0].text).toBe('        stw \\reg, [sp + \\slot]');
    expect(formatError(errs[0]).split('\n')[2]).toBe(`    ${' '.repeat(12)}^`);
  });

  it('report an unknown \\parameter in the body at the backslash', () => {
    const errs = all('.macro m a\n  movi r1, \\b\n.endm\nm 1');
    expect(errs).toEqual([[2, 12, "unknown macro parameter '\\b' (in macro 'm' invoked at err.s:4)"]]);
  });

  it('stop endless recursion at 64 levels with one error', () => {
    const errs = assemble('.macro r\n  r\n.endm\nr', 'rec.s').errors;
    expect(errs).toHaveLength(1);
    expect(errs[0].message).toMatch(/^macro 'r' nested too deeply \(more than 64 levels; endless recursion\?\)/);
    expect(errs[0].message).toMatch(/more levels/);
  });
});

describe('several mistakes in one file', () => {
  it('reports all of them, one per faulty line, in source order, and assembles the rest correctly', () => {
    const src = [
      'start:  movi r1, 1', //  1 ok
      '        ad r1, r2, r3', //  2 pass-1 error
      '        jmp nowhere', //  3 pass-2 error (undefined symbol)
      '        addi r1, r1, 99999', //  4 pass-2 error (range)
      '        .byte 300', //  5 pass-2 error
      '        .align 4', //  6 ok
      '        add r1, r2', //  7 pass-1 error
      '        .word 1/0', //  8 pass-2 error
      'end:    nop', //  9 ok: its address is unaffected by the errors above
      '        .endif', // 10 pass-1 error
    ].join('\n');
    const res = assemble(src, 'many.s');
    expect(res.ok).toBe(false);
    expect(res.errors.map((e) => [e.line, e.column])).toEqual([
      [2, 9],
      [3, 13],
      [4, 22],
      [5, 15],
      [7, 19],
      [8, 16],
      [10, 9],
    ]);
    // Layout continues past the errors: movi, (ad: nothing), jmp, addi, .byte, align, add, .word.
    expect(res.symbols.get('end')).toBe(4 + 4 + 4 + 1 + 3 + 4 + 4);
  });

  it('does not cascade: labels on a faulty line stay defined, and a faulty .endif still closes its block', () => {
    expect(all('msg: .ascii "abc\n.word msg\nx: add r1\njmp x')).toEqual([
      [1, 13, `unterminated string (missing closing '"')`],
      [3, 10, "add expects 3 operands: rd, rs, rt (found 1; e.g. 'add r1, r2, r3')"],
    ]);
    expect(all('.if 1\nnop\n.endif \'x')).toEqual([[3, 8, 'unterminated character literal (missing closing "\'")']]);
    expect(all('.if 0\n.else "oops\n.byte 1\n.endif')).toEqual([[2, 7, `unterminated string (missing closing '"')`]]);
  });

  it('orders errors from included files at the point of the .include', () => {
    const files: Record<string, string> = { 'inc.s': 'nop\nbogus' };
    const res = assemble('bad1\n.include "inc.s"\nbad2', 'main.s', { readFile: (p) => files[p] });
    expect(res.errors.map((e) => `${e.file}:${e.line}`)).toEqual(['main.s:1', 'inc.s:2', 'main.s:3']);
  });
});

describe('formatError', () => {
  it('prints file:line:col, the source line and a caret under the column', () => {
    const e = only('  addi r1, r2, 70000');
    expect(formatError(e)).toBe(
      'err.s:1:16: error: immediate 70000 out of range for addi (s16: -32768..32767)\n' +
        '      addi r1, r2, 70000\n' +
        '                   ^',
    );
  });

  it('keeps tabs in the caret line so the caret lines up', () => {
    const e = only('\tadd\tr1, r2, 99');
    expect(e.column).toBe(14);
    expect(formatError(e).split('\n').slice(1)).toEqual(['    \tadd\tr1, r2, 99', '    \t   \t        ^']);
  });

  it('reports a missing file from assembleFile as an error, not an exception', () => {
    const res = assembleFile('/nonexistent/dir/missing.s');
    expect(res.ok).toBe(false);
    expect(res.errors).toHaveLength(1);
    expect(res.errors[0]).toMatchObject({ file: '/nonexistent/dir/missing.s', line: 1, column: 1 });
    expect(res.errors[0].message).toMatch(/^cannot read '\/nonexistent\/dir\/missing\.s' \(ENOENT/);
    // No source line to show: the formatted error is the one line, with no empty line and caret under it.
    expect(formatError(res.errors[0])).toMatch(/^\/nonexistent\/dir\/missing\.s:1:1: error: cannot read [^\n]*$/);
    const odd = assembleFile('x.s', {
      readFile: () => {
        throw 'not an Error';
      },
    });
    expect(odd.errors[0].message).toBe("cannot read 'x.s' (not an Error)");
  });
});
