/**
 * The symbol table: labels, `.equ` constants (possibly defined by forward references), predefined
 * symbols and local numeric labels, with the lookups expressions use in pass 1 and pass 2.
 *
 * Pass 1 lookups (`final = false`) may only see what is defined so far: anything else raises
 * NotYetError ("must be defined before use here"). Pass 2 lookups (`final = true`) see everything.
 */
import { ErrorList, LineError, NotYetError, PoisonedError } from './errors.js';
import { evaluate, type EvalEnv, type Expr } from './expr.js';
import type { LineContext } from './source.js';
import { didYouMean } from './suggest.js';

/** How many `.equ` definitions may wait on one another in a chain of forward references. */
export const MAX_EQU_CHAIN = 64;

export interface Label {
  readonly kind: 'label';
  readonly name: string;
  readonly value: number;
  readonly ctx: LineContext;
}

export interface Equ {
  readonly kind: 'equ';
  readonly name: string;
  /** ok: `value` is known; pending: waits for a forward reference; busy: being evaluated; failed: reported. */
  state: 'ok' | 'pending' | 'busy' | 'failed';
  value: number;
  readonly expr: Expr | null;
  /** `.` and the stream position where it was written (for `.` and `1f`/`1b` in the expression). */
  readonly dot: number;
  readonly ctx: LineContext | null;
}

export type SymbolEntry = Label | Equ;

interface LocalDef {
  readonly seq: number;
  readonly address: number;
}

export const whereOf = (ctx: LineContext): string => `${ctx.src.file}:${ctx.src.line}`;

/** Where a symbol was defined, for messages. */
export const definedAt = (s: SymbolEntry): string => (s.ctx ? whereOf(s.ctx) : 'the predefined symbols');

export class SymbolTable {
  readonly symbols = new Map<string, SymbolEntry>();
  private readonly locals = new Map<number, LocalDef[]>();
  private chain = 0;

  private readonly errors: ErrorList;

  constructor(errors: ErrorList) {
    this.errors = errors;
  }

  has(name: string): boolean {
    return this.symbols.has(name);
  }

  get(name: string): SymbolEntry | undefined {
    return this.symbols.get(name);
  }

  /** Defines a label; throws LineError (at `col`) if the name is taken. */
  defineLabel(name: string, value: number, ctx: LineContext, col: number): void {
    const old = this.symbols.get(name);
    if (old) throw new LineError(col, `symbol '${name}' is already defined (at ${definedAt(old)})`);
    this.symbols.set(name, { kind: 'label', name, value, ctx });
  }

  defineLocal(label: number, address: number, seq: number): void {
    let list = this.locals.get(label);
    if (!list) this.locals.set(label, (list = []));
    list.push({ seq, address });
  }

  /**
   * Defines a constant. Its value is computed now if possible, else later (forward reference).
   * Redefining with the same value is allowed; anything else throws LineError at `col`.
   */
  defineEqu(name: string, expr: Expr, ctx: LineContext, dot: number, col: number): void {
    const old = this.symbols.get(name);
    const equ: Equ = { kind: 'equ', name, state: 'pending', value: 0, expr, dot, ctx };
    try {
      equ.value = evaluate(expr, this.env(dot, ctx.seq, false));
      equ.state = 'ok';
    } catch (e) {
      if (e instanceof PoisonedError) equ.state = 'failed';
      else if (e instanceof NotYetError) equ.state = 'pending';
      else if (e instanceof LineError) {
        if (!old) this.symbols.set(name, { ...equ, state: 'failed' });
        throw e;
      } else throw e;
    }
    if (!old) {
      this.symbols.set(name, equ);
      return;
    }
    if (old.kind === 'equ' && old.state === 'ok' && equ.state === 'ok') {
      if (old.value === equ.value) return;
      throw new LineError(col, `'${name}' redefined with a different value (${equ.value}; it is ${old.value} from ${definedAt(old)})`);
    }
    if (old.kind === 'equ' && old.state === 'failed') {
      this.symbols.set(name, equ);
      return;
    }
    throw new LineError(col, `symbol '${name}' is already defined (at ${definedAt(old)})`);
  }

  /** A predefined symbol (from the `defines` option). */
  predefine(name: string, value: number): void {
    this.symbols.set(name, { kind: 'equ', name, state: 'ok', value, expr: null, dot: 0, ctx: null });
  }

  /** The expression environment of a statement at address `dot`, stream position `seq`. */
  env(dot: number, seq: number, final: boolean): EvalEnv {
    return {
      dot,
      symbol: (name, col) => this.lookup(name, col, final),
      local: (label, back, text, col) => this.lookupLocal(label, back, text, col, seq, final),
    };
  }

  lookup(name: string, col: number, final: boolean): number {
    const s = this.symbols.get(name);
    if (s?.kind === 'label') return s.value;
    if (s) return this.resolve(s, col, final);
    if (!final) throw new NotYetError(col, name, `symbol '${name}' must be defined before use here`);
    throw new LineError(col, `undefined symbol '${name}'${didYouMean(name, this.candidates(name))}`);
  }

  /** Nearby names only, so that a huge symbol table does not make a suggestion slow. */
  private *candidates(name: string): Iterable<string> {
    for (const k of this.symbols.keys()) if (Math.abs(k.length - name.length) <= 3) yield k;
  }

  private resolve(q: Equ, col: number, final: boolean): number {
    switch (q.state) {
      case 'ok':
        return q.value;
      case 'failed':
        throw new PoisonedError();
      case 'busy':
        throw new LineError(col, `circular definition: the value of '${q.name}' depends on itself`);
      case 'pending':
        break;
    }
    if (this.chain >= MAX_EQU_CHAIN) {
      throw new LineError(col, `symbol definitions depend on each other too deeply (more than ${MAX_EQU_CHAIN} levels)`);
    }
    const expr = q.expr;
    const ctx = q.ctx;
    if (!expr || !ctx) throw new PoisonedError();
    q.state = 'busy';
    this.chain++;
    try {
      q.value = evaluate(expr, this.env(q.dot, ctx.seq, final));
      q.state = 'ok';
      return q.value;
    } catch (e) {
      if (e instanceof NotYetError) {
        q.state = 'pending';
        throw new NotYetError(col, q.name, `symbol '${q.name}' must be defined before use here (its value depends on '${e.symbol}', which is not defined yet)`);
      }
      q.state = 'failed';
      if (e instanceof LineError) {
        this.errors.at(ctx, e.col, e.message);
        throw new PoisonedError();
      }
      throw e;
    } finally {
      this.chain--;
    }
  }

  /** Computes every constant still waiting on a forward reference (end of pass 1). */
  resolveAll(): void {
    for (const s of this.symbols.values()) {
      if (s.kind !== 'equ' || s.state !== 'pending') continue;
      try {
        this.resolve(s, 0, true);
      } catch (e) {
        if (e instanceof PoisonedError) continue;
        if (e instanceof LineError && s.ctx) this.errors.at(s.ctx, e.col, e.message);
        else throw e;
      }
    }
  }

  lookupLocal(label: number, back: boolean, text: string, col: number, seq: number, final: boolean): number {
    const list = this.locals.get(label) ?? [];
    // First definition with a stream position > seq (binary search; the list is in stream order).
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    if (back) {
      if (lo > 0) return list[lo - 1].address;
      throw new LineError(col, `undefined local label '${text}' (no '${label}:' before this line)`);
    }
    if (lo < list.length) return list[lo].address;
    if (!final) throw new NotYetError(col, text, `local label '${text}' must be defined before use here`);
    throw new LineError(col, `undefined local label '${text}' (no '${label}:' after this line)`);
  }

  /** Labels, constants and predefined symbols with a known value. */
  values(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.symbols.values()) {
      if (s.kind === 'label') out.set(s.name, s.value);
      else if (s.state === 'ok') out.set(s.name, s.value);
    }
    return out;
  }
}
