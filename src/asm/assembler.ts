/**
 * The assembler driver. Pass 1 reads the source line by line (following `.include`, expanding macros,
 * skipping false conditional blocks), parses every statement and lays out addresses; pass 2 (emit.ts)
 * evaluates operands and writes the image.
 *
 * Sources are processed with an explicit stack of frames (a file or a macro expansion), never by
 * recursion, so deep includes and macros cannot overflow the JavaScript stack.
 */
import { INSTRUCTIONS, insnByName, type InsnDef } from '../isa/table.js';
import { INSN_BYTES } from '../isa/arch.js';
import { ConditionalStack } from './conditionals.js';
import {
  CONDITIONALS,
  DIRECTIVES,
  expectEnd,
  isDirective,
  parseDataItems,
  parseStrings,
  requiredExpr,
  stringText,
  type Directive,
} from './directives.js';
import { emitAll } from './emit.js';
import { ErrorList, LineError, NotYetError, PoisonedError, type ErrorRecord } from './errors.js';
import { Cursor, evaluate, parseExpr, type Expr } from './expr.js';
import { hex, Layout } from './layout.js';
import { describeToken, lex, type LexResult, type Token } from './lexer.js';
import { splitTopLevel, substitute, type MacroDef, type MacroParam } from './macros.js';
import { parseOperands } from './operands.js';
import { PSEUDOS, pseudoByName, type PseudoDef } from './pseudo.js';
import { isRegisterName } from './registers.js';
import { fileKey, resolveInclude, splitLines, type LineContext, type SourceText } from './source.js';
import { didYouMean } from './suggest.js';
import { definedAt, SymbolTable, whereOf } from './symbols.js';
import type { AssembleOptions, AssembleResult } from './types.js';

export const MAX_INCLUDE_DEPTH = 32;
export const MAX_MACRO_DEPTH = 64;
/** Lines processed in total, after includes and macro expansion (stops runaway expansions). */
export const MAX_LINES = 1_000_000;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Labels at the start of a statement: `name:` and local `1:`, any number of them. */
function parseLabels(cur: Cursor): Token[] {
  const labels: Token[] = [];
  while (cur.isPunct(':', 1)) {
    const t = cur.peek();
    if (t.kind === 'ident') {
      if (isRegisterName(t.text)) throw new LineError(t.start, `'${t.text}' is a register name and cannot be used as a label`);
    } else if (t.kind !== 'number' || !/^[0-9]{1,9}$/.test(t.text)) {
      throw new LineError(t.start, `invalid label ${describeToken(t)} (a label is a name like 'loop:' or a local number like '1:')`);
    }
    labels.push(t);
    cur.next();
    cur.next();
  }
  return labels;
}

/** A conditional directive (after any labels) at the start of the line: its name, token and operands. */
function conditionalAt(line: Cursor): { dir: string; head: Token; cur: Cursor } | undefined {
  const cur = new Cursor(line.tokens);
  while (cur.isPunct(':', 1)) cur.pos += 2;
  const head = cur.next();
  const dir = head.text.slice(1).toLowerCase();
  return head.kind === 'directive' && CONDITIONALS.has(dir) ? { dir, head, cur } : undefined;
}

/** " (in macro 'a' invoked at f.s:3, in macro 'b' invoked at f.s:9)", shortened for deep nesting. */
function chainNote(chain: readonly string[]): string {
  if (chain.length === 0) return '';
  const shown =
    chain.length <= 4 ? chain : [chain[0], chain[1], `... ${chain.length - 3} more levels ...`, chain[chain.length - 1]];
  return ` (${shown.join(', ')})`;
}

/** A `.macro` whose body is being collected. */
interface Recording {
  readonly ctx: LineContext;
  readonly col: number;
  /** Undefined when the `.macro` line had an error: the body is still consumed, then dropped. */
  def: { name: string; params: MacroParam[] } | undefined;
  readonly body: SourceText[];
  depth: number;
}

/** A source being read: a file, or one expansion of a macro. */
interface Frame {
  readonly kind: 'file' | 'macro';
  /** For files: the path (relative includes start from its directory). */
  readonly file: string;
  readonly lines: readonly SourceText[];
  index: number;
  /** Conditionals opened in this frame sit above this height of the conditional stack. */
  readonly condBase: number;
  recording: Recording | undefined;
  readonly args: ReadonlyMap<string, string>;
  readonly counter: number;
  /** Invocation sites, innermost first: "in macro 'm' invoked at f.s:3" (empty for files). */
  readonly chain: readonly string[];
}

export class Assembler {
  private readonly errors = new ErrorList();
  private readonly symbols = new SymbolTable(this.errors);
  private readonly macros = new Map<string, MacroDef>();
  private readonly layout = new Layout();
  private readonly frames: Frame[] = [];
  private readonly conds = new ConditionalStack();
  /** Pass-1 "must be defined before use" errors, rewritten after pass 1 if the symbol never appears. */
  private readonly notYet: { rec: ErrorRecord; name: string }[] = [];
  private seq = 0;
  private linesRead = 0;
  private macroCounter = 0;
  /** Set when macro recursion ran too deep: the current expansion is dropped. */
  private abandon = false;
  private readonly readFile: (path: string) => string;
  private readonly options: AssembleOptions;

  constructor(options: AssembleOptions, defaultReadFile: (path: string) => string) {
    this.options = options;
    this.readFile = options.readFile ?? defaultReadFile;
  }

  run(source: string, fileName: string): AssembleResult {
    this.predefine(fileName);
    this.pushFile(fileName, source);
    this.pass1();
    this.symbols.resolveAll();
    this.fixNotYet();
    const { image, lines } = emitAll(this.layout.stmts, this.symbols, this.errors);
    const errors = this.errors.sorted();
    return { ok: errors.length === 0, image, symbols: this.symbols.values(), errors, lines };
  }

  // --- sources -------------------------------------------------------------------------------

  private predefine(fileName: string): void {
    const defines = this.options.defines ?? {};
    let entries: [string, unknown][];
    try {
      entries = Object.entries(defines);
    } catch {
      entries = [];
    }
    for (const [name, value] of entries) {
      const text = `${name} = ${String(value)}`;
      const ctx: LineContext = { src: { file: '<defines>', line: 1, text, src: text, map: null }, suffix: '', seq: -1, inMacro: false };
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || isRegisterName(name)) {
        this.errors.at(ctx, 0, `predefined symbol '${name}' is not a valid symbol name (for ${fileName})`);
      } else if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
        this.errors.at(ctx, 0, `predefined symbol '${name}' must be a 32-bit integer, found ${String(value)}`);
      } else {
        this.symbols.predefine(name, value | 0);
      }
    }
  }

  private pushFile(file: string, content: string): void {
    this.frames.push({
      kind: 'file',
      file,
      lines: splitLines(file, content),
      index: 0,
      condBase: this.conds.depth,
      recording: undefined,
      args: new Map(),
      counter: 0,
      chain: [],
    });
  }

  private pass1(): void {
    while (this.frames.length > 0) {
      const fr = this.frames[this.frames.length - 1];
      if (fr.index >= fr.lines.length) {
        this.endFrame(fr);
        this.frames.pop();
        continue;
      }
      const raw = fr.lines[fr.index++];
      const src = fr.kind === 'macro' ? substitute(raw, fr.args, fr.counter) : raw;
      const ctx: LineContext = {
        src,
        suffix: chainNote(fr.chain),
        seq: this.seq++,
        inMacro: fr.kind === 'macro',
      };
      if (++this.linesRead > MAX_LINES) {
        this.errors.at(ctx, 0, `too many lines to assemble (more than ${MAX_LINES} after includes and macro expansion); stopping`);
        return;
      }
      if (fr.recording) this.record(fr, fr.recording, ctx);
      else this.line(ctx);
      if (this.abandon) this.abandonExpansion();
    }
  }

  /**
   * After runaway macro recursion, drop the whole expansion back to the file that started it (one
   * error instead of one per level and branch); assembly continues after the outermost invocation.
   */
  private abandonExpansion(): void {
    this.abandon = false;
    let base = this.conds.depth;
    while (this.frames.length > 1 && this.frames[this.frames.length - 1].kind === 'macro') {
      const fr = this.frames.pop();
      if (fr) base = fr.condBase;
    }
    this.conds.closeAbove(base);
  }

  /** End of a file or expansion: conditionals and macro definitions must not stay open across it. */
  private endFrame(fr: Frame): void {
    for (const c of this.conds.closeAbove(fr.condBase)) {
      this.errors.at(c.ctx, c.col, `'.${c.directive}' without a matching '.endif'`);
    }
    const rec = fr.recording;
    if (rec) {
      const name = rec.def ? ` ${rec.def.name}` : '';
      this.errors.at(rec.ctx, rec.col, `'.macro${name}' without a matching '.endm'`);
    }
  }

  private active(): boolean {
    return this.conds.active();
  }

  // --- lines -----------------------------------------------------------------------------------

  private line(ctx: LineContext): void {
    const lx = lex(ctx.src.src, ctx.inMacro);
    const cur = new Cursor(lx.tokens);
    try {
      const cond = conditionalAt(cur);
      if (!this.active()) {
        // Skipped code: only the conditional directives matter (labels on them are ignored).
        if (cond) this.conditional(cond.dir, cond.head, cond.cur, ctx, lx);
        return;
      }
      if (lx.error) {
        // Keep what can be kept of a line with a lexical error: the .if/.endif structure, or the
        // labels before the mistake (so that they do not turn up as "undefined" later).
        if (cond) this.conditional(cond.dir, cond.head, cond.cur, ctx, lx);
        else this.salvageLabels(cur, ctx);
        throw lx.error;
      }
      this.statement(cur, ctx, lx);
    } catch (e) {
      this.fail(ctx, e);
    }
  }

  private salvageLabels(cur: Cursor, ctx: LineContext): void {
    let labels: Token[];
    try {
      labels = parseLabels(cur);
    } catch {
      return;
    }
    this.defineLabels(labels, ctx);
  }

  private fail(ctx: LineContext, e: unknown): void {
    if (e instanceof PoisonedError) return;
    if (e instanceof NotYetError) {
      const rec = this.errors.at(ctx, e.col, e.message);
      if (/^[A-Za-z_]/.test(e.symbol)) this.notYet.push({ rec, name: e.symbol });
      return;
    }
    if (e instanceof LineError) {
      this.errors.at(ctx, e.col, e.message);
      return;
    }
    throw e;
  }

  /** A pass-1 "not defined yet" error about a symbol that is never defined says so plainly. */
  private fixNotYet(): void {
    for (const { rec, name } of this.notYet) {
      if (!this.symbols.has(name)) {
        this.errors.rewrite(rec, `undefined symbol '${name}'${didYouMean(name, this.symbols.symbols.keys())}`);
      } else {
        const s = this.symbols.get(name);
        if (s?.kind === 'label') this.errors.rewrite(rec, `symbol '${name}' must be defined before use here (it is defined later, at ${definedAt(s)})`);
      }
    }
  }

  private statement(cur: Cursor, ctx: LineContext, lx: LexResult): void {
    const labels = parseLabels(cur);
    const head = cur.peek();
    const dir = head.kind === 'directive' ? head.text.slice(1).toLowerCase() : '';
    // Labels on .org and .align name the address after them (what follows); elsewhere, the statement's.
    const labelsAfter = dir === 'org' || dir === 'align';
    if (!labelsAfter) this.defineLabels(labels, ctx);
    try {
      this.dispatch(head, dir, cur, ctx, lx);
    } finally {
      if (labelsAfter) this.defineLabels(labels, ctx);
    }
  }

  private defineLabels(labels: readonly Token[], ctx: LineContext): void {
    for (const t of labels) {
      if (t.kind === 'number') this.symbols.defineLocal(t.value, this.layout.address, ctx.seq);
      else {
        try {
          this.symbols.defineLabel(t.text, this.layout.address, ctx, t.start);
        } catch (e) {
          this.fail(ctx, e);
        }
      }
    }
  }

  private dispatch(head: Token, dir: string, cur: Cursor, ctx: LineContext, lx: LexResult): void {
    if (head.kind === 'eol') return;
    cur.next();
    if (head.kind === 'directive') {
      if (!isDirective(dir)) {
        throw new LineError(head.start, `unknown directive '${head.text}'${didYouMean(head.text, DIRECTIVES.map((d) => `.${d}`))}`);
      }
      this.directive(dir, head, cur, ctx, lx);
      return;
    }
    if (head.kind === 'ident' && cur.isPunct('=')) {
      cur.next();
      this.equ(head, cur, ctx);
      return;
    }
    if (head.kind === 'ident') {
      this.mnemonic(head, cur, ctx, lx);
      return;
    }
    throw new LineError(head.start, `expected an instruction, directive or label, found ${describeToken(head)}`);
  }

  private mnemonic(head: Token, cur: Cursor, ctx: LineContext, lx: LexResult): void {
    const macro = this.macros.get(head.text.toLowerCase());
    if (macro) {
      this.invoke(macro, head, ctx, lx);
      return;
    }
    const def = insnByName(head.text);
    if (def) {
      this.instruction(def, head, cur, ctx);
      return;
    }
    const pseudo = pseudoByName(head.text);
    if (pseudo) {
      this.pseudo(pseudo, head, cur, ctx);
      return;
    }
    const next = cur.peek();
    if (next.kind === 'ident' && (insnByName(next.text) || pseudoByName(next.text) || this.macros.has(next.text.toLowerCase()))) {
      throw new LineError(head.start, `unknown instruction '${head.text}' (if it is a label, write '${head.text}:')`);
    }
    throw new LineError(head.start, `unknown instruction '${head.text}'${didYouMean(head.text, this.mnemonics())}`);
  }

  /** Everything that can stand where an instruction does, for suggestions. */
  private *mnemonics(): Iterable<string> {
    for (const d of INSTRUCTIONS) yield d.name;
    for (const p of PSEUDOS) yield p.name;
    for (const m of this.macros.values()) yield m.name;
  }

  private instruction(def: InsnDef, head: Token, cur: Cursor, ctx: LineContext): void {
    const at = this.layout.reserve(INSN_BYTES, head.start, def.name);
    const ops = parseOperands(def.name, def.operands, cur, head);
    this.checkAligned(at, head);
    this.layout.place(ctx, at, INSN_BYTES, { kind: 'insn', def, ops, col: head.start });
  }

  private pseudo(def: PseudoDef, head: Token, cur: Cursor, ctx: LineContext): void {
    const at = this.layout.reserve(def.size, head.start, def.name);
    const ops = parseOperands(def.name, def.operands, cur, head);
    this.checkAligned(at, head);
    this.layout.place(ctx, at, def.size, { kind: 'pseudo', def, ops, col: head.start });
  }

  private checkAligned(at: number, head: Token): void {
    if (at % INSN_BYTES !== 0) {
      throw new LineError(
        head.start,
        `instruction '${head.text}' at unaligned address ${hex(at)} (instructions must be ${INSN_BYTES}-byte aligned; add '.align ${INSN_BYTES}' before it)`,
      );
    }
  }

  // --- macros ----------------------------------------------------------------------------------

  private record(fr: Frame, rec: Recording, ctx: LineContext): void {
    const text = ctx.src.src;
    if (/^\s*\.macro\b/i.test(text)) rec.depth++;
    else if (/^\s*\.endm\b/i.test(text)) {
      if (rec.depth === 0) {
        fr.recording = undefined;
        if (rec.def) {
          this.macros.set(rec.def.name.toLowerCase(), {
            name: rec.def.name,
            params: rec.def.params,
            body: rec.body,
            file: rec.ctx.src.file,
            line: rec.ctx.src.line,
          });
        }
        const rest = lex(text, ctx.inMacro);
        const extra = rest.tokens[1];
        if (!rest.error && extra && extra.kind !== 'eol') this.errors.at(ctx, extra.start, `unexpected ${describeToken(extra)} after '.endm'`);
        return;
      }
      rec.depth--;
    }
    rec.body.push(ctx.src);
  }

  private defineMacro(head: Token, cur: Cursor, ctx: LineContext, lx: LexResult): void {
    const fr = this.frames[this.frames.length - 1];
    const rec: Recording = { ctx, col: head.start, def: undefined, body: [], depth: 0 };
    fr.recording = rec; // collect the body even if this line is wrong, so it is not assembled as code
    const nameTok = cur.next();
    if (nameTok.kind !== 'ident') throw new LineError(nameTok.start, `expected a macro name after '.macro', found ${describeToken(nameTok)}`);
    const name = nameTok.text;
    if (insnByName(name) || pseudoByName(name)) {
      throw new LineError(nameTok.start, `cannot define macro '${name}': it is the name of an instruction`);
    }
    if (isRegisterName(name)) throw new LineError(nameTok.start, `cannot define macro '${name}': it is a register name`);
    const old = this.macros.get(name.toLowerCase());
    if (old) throw new LineError(nameTok.start, `macro '${name}' is already defined (at ${old.file}:${old.line})`);
    const params: MacroParam[] = [];
    for (const piece of splitTopLevel(ctx.src.src, nameTok.end, lx.end)) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\s*=\s*([^]*))?$/.exec(piece.text);
      if (!m) {
        const hint = /^[A-Za-z_][A-Za-z0-9_]*\s+[A-Za-z_]/.test(piece.text) ? "; separate parameters with ','" : '';
        throw new LineError(piece.start, `invalid macro parameter '${piece.text}' (expected a name, optionally '= default'${hint})`);
      }
      if (params.some((p) => p.name === m[1])) throw new LineError(piece.start, `duplicate macro parameter '${m[1]}'`);
      params.push({ name: m[1], defaultText: m[2] });
    }
    rec.def = { name, params };
  }

  private invoke(macro: MacroDef, head: Token, ctx: LineContext, lx: LexResult): void {
    const depth = this.frames.filter((f) => f.kind === 'macro').length;
    if (depth >= MAX_MACRO_DEPTH) {
      this.abandon = true;
      throw new LineError(head.start, `macro '${macro.name}' nested too deeply (more than ${MAX_MACRO_DEPTH} levels; endless recursion?)`);
    }
    const pieces = splitTopLevel(ctx.src.src, head.end, lx.end);
    const params = macro.params;
    const names = params.map((p) => p.name).join(', ');
    if (pieces.length > params.length) {
      const extra = pieces[params.length];
      const expects = params.length === 0 ? 'takes no arguments' : `takes ${plural(params.length, 'argument')} (${names})`;
      throw new LineError(extra.start, `macro '${macro.name}' ${expects}, found ${pieces.length}`);
    }
    const args = new Map<string, string>();
    params.forEach((p, i) => {
      const given = pieces[i]?.text;
      if (given !== undefined && given !== '') args.set(p.name, given);
      else if (p.defaultText !== undefined) args.set(p.name, p.defaultText);
      else if (given === '') args.set(p.name, '');
      else {
        const at = pieces.length > 0 ? lx.tokens[lx.tokens.length - 1].start : head.end;
        throw new LineError(at, `macro '${macro.name}' expects ${plural(params.length, 'argument')} (${names}), missing '${p.name}'`);
      }
    });
    const parent = this.frames[this.frames.length - 1];
    const here = `in macro '${macro.name}' invoked at ${whereOf(ctx)}`;
    this.frames.push({
      kind: 'macro',
      file: ctx.src.file,
      lines: macro.body,
      index: 0,
      condBase: this.conds.depth,
      recording: undefined,
      args,
      counter: this.macroCounter++,
      chain: [here, ...(parent?.chain ?? [])],
    });
  }

  // --- conditional assembly ------------------------------------------------------------------

  private conditional(dir: string, head: Token, cur: Cursor, ctx: LineContext, lx: LexResult): void {
    const frame = this.frames[this.frames.length - 1];
    const base = frame ? frame.condBase : 0;
    const decide = (): boolean => {
      if (lx.error) throw lx.error;
      return this.condition(dir, head, cur, ctx);
    };
    switch (dir) {
      case 'if':
      case 'ifdef':
      case 'ifndef':
        this.conds.begin(dir, ctx, head.start, decide);
        return;
      case 'elif':
        this.conds.elif(base, head.start, decide);
        return;
      case 'else':
      case 'endif': {
        const c = dir === 'else' ? this.conds.else(base, head.start, ctx.src.line) : this.conds.end(base, head.start);
        if (c.parentActive) {
          // The enclosing code is assembled, so this line is checked like any other.
          if (lx.error) throw lx.error;
          expectEnd(cur, `'.${dir}'`);
        }
        return;
      }
    }
  }

  private condition(dir: string, head: Token, cur: Cursor, ctx: LineContext): boolean {
    if (dir === 'ifdef' || dir === 'ifndef') {
      const t = cur.next();
      if (t.kind !== 'ident') throw new LineError(t.kind === 'eol' ? head.start : t.start, `'.${dir}' expects a symbol name, found ${describeToken(t)}`);
      expectEnd(cur, `'.${dir} ${t.text}'`);
      return this.symbols.has(t.text) === (dir === 'ifdef');
    }
    const expr = requiredExpr(cur, 'a condition', head);
    expectEnd(cur, 'the condition');
    return this.now(expr, ctx) !== 0;
  }

  // --- directives ------------------------------------------------------------------------------

  /** Evaluates in pass 1: everything used must be defined already. */
  private now(expr: Expr, ctx: LineContext): number {
    return evaluate(expr, this.symbols.env(this.layout.address, ctx.seq, false));
  }

  private directive(dir: Directive, head: Token, cur: Cursor, ctx: LineContext, lx: LexResult): void {
    switch (dir) {
      case 'if':
      case 'ifdef':
      case 'ifndef':
      case 'elif':
      case 'else':
      case 'endif':
        this.conditional(dir, head, cur, ctx, lx);
        return;
      case 'macro':
        this.defineMacro(head, cur, ctx, lx);
        return;
      case 'endm':
        throw new LineError(head.start, "'.endm' without a matching '.macro'");
      case 'equ': {
        const name = cur.next();
        if (name.kind !== 'ident') throw new LineError(name.kind === 'eol' ? head.start : name.start, `'.equ' expects a symbol name, found ${describeToken(name)}`);
        const comma = cur.next();
        if (comma.kind !== 'punct' || comma.text !== ',') {
          throw new LineError(comma.start, `expected ',' after '.equ ${name.text}', found ${describeToken(comma)}`);
        }
        this.equ(name, cur, ctx);
        return;
      }
      case 'word':
      case 'byte': {
        const width = dir === 'word' ? 4 : 1;
        const items = parseDataItems(width, head, cur);
        this.layout.emit(ctx, width * items.length, head.start, head.text, { kind: 'data', width, items });
        return;
      }
      case 'ascii':
      case 'asciz': {
        const bytes = parseStrings(dir === 'asciz', head, cur);
        this.layout.emit(ctx, bytes.length, head.start, head.text, { kind: 'bytes', bytes });
        return;
      }
      case 'space': {
        const sizeCol = cur.peek().start;
        const n = this.now(requiredExpr(cur, 'a size in bytes', head), ctx);
        let fill = 0;
        if (cur.isPunct(',')) {
          cur.next();
          const col = cur.peek().start;
          fill = this.now(requiredExpr(cur, 'a fill byte', head), ctx);
          if (fill < -128 || fill > 255) throw new LineError(col, `fill value ${fill} out of range for .space (-128..255)`);
        }
        expectEnd(cur, 'the operands of .space');
        if (n < 0) throw new LineError(sizeCol, `.space size must not be negative, found ${n}`);
        this.layout.emit(ctx, n, head.start, `.space ${n}`, { kind: 'fill', value: fill });
        return;
      }
      case 'align': {
        const col = cur.peek().start;
        const n = this.now(requiredExpr(cur, 'an alignment (a power of two)', head), ctx);
        expectEnd(cur, 'the operand of .align');
        this.layout.align(n, ctx, col, head.start);
        return;
      }
      case 'org': {
        const col = cur.peek().start;
        const target = this.now(requiredExpr(cur, 'an address', head), ctx);
        expectEnd(cur, 'the operand of .org');
        this.layout.moveTo(target, col);
        return;
      }
      case 'include':
        this.include(head, cur, ctx);
        return;
      case 'error': {
        const t = cur.next();
        let message = "'.error' reached";
        if (t.kind === 'string') message = stringText(t);
        else if (t.kind !== 'eol') throw new LineError(t.start, `'.error' expects a message in double quotes, found ${describeToken(t)}`);
        expectEnd(cur, 'the message of .error');
        throw new LineError(head.start, message);
      }
      case 'assert': {
        const col = cur.peek().start;
        const expr = requiredExpr(cur, 'a condition', head);
        let message = `'${ctx.src.src.slice(col, cur.peek().start).trim()}'`;
        if (cur.isPunct(',')) {
          cur.next();
          const t = cur.next();
          if (t.kind !== 'string') throw new LineError(t.start, `'.assert' expects a message in double quotes after ',', found ${describeToken(t)}`);
          message = stringText(t);
        }
        expectEnd(cur, 'the operands of .assert');
        this.layout.place(ctx, this.layout.address, 0, { kind: 'assert', expr, col, message });
        return;
      }
    }
  }

  private equ(name: Token, cur: Cursor, ctx: LineContext): void {
    if (isRegisterName(name.text)) throw new LineError(name.start, `'${name.text}' is a register name and cannot be defined as a symbol`);
    if (cur.atEnd()) throw new LineError(cur.peek().start, `expected a value for '${name.text}'`);
    const expr = parseExpr(cur, 'a value');
    expectEnd(cur, `the value of '${name.text}'`);
    this.symbols.defineEqu(name.text, expr, ctx, this.layout.address, name.start);
  }

  private include(head: Token, cur: Cursor, ctx: LineContext): void {
    const t = cur.next();
    if (t.kind !== 'string') throw new LineError(t.kind === 'eol' ? head.start : t.start, `'.include' expects a file name in double quotes, found ${describeToken(t)}`);
    expectEnd(cur, 'the file name');
    const name = stringText(t);
    const path = resolveInclude(ctx.src.file, name);
    const chain = this.frames.filter((f) => f.kind === 'file').map((f) => f.file);
    if (chain.some((f) => fileKey(f) === fileKey(path))) {
      throw new LineError(t.start, `include cycle: ${[...chain, path].join(' -> ')}`);
    }
    if (chain.length > MAX_INCLUDE_DEPTH) {
      throw new LineError(t.start, `includes nested too deeply (more than ${MAX_INCLUDE_DEPTH} levels): ${[...chain, path].join(' -> ')}`);
    }
    let content: unknown;
    try {
      content = this.readFile(path);
    } catch (e) {
      throw new LineError(t.start, `cannot read include file '${path}' (${e instanceof Error ? e.message : String(e)})`);
    }
    if (typeof content !== 'string') throw new LineError(t.start, `cannot read include file '${path}' (readFile returned no text)`);
    this.pushFile(path, content);
  }
}
