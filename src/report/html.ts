/**
 * report.html: one self-contained file that opens offline. The vega-lite charts are compiled and rendered to
 * inline SVG here, at build time — no scripts, no CDN, no network — and every piece of text is escaped.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { counterField, shortLabel } from '../metrics/counters.js';
import { PRICE_KEYS } from '../metrics/presets.js';
import { charts, MEMORY_EVENTS, type ChartDef } from './charts.js';
import { belowOneNote } from './below-one.js';
import { esc } from './escape.js';
import { referenceCycles } from './facts.js';
import type { BenchReport, CellRecord } from './model.js';
import { firstToMisbehave, popekGoldbergSection } from './popek-goldberg.js';

/** Explanations of the built-in engines for the report; other engines show their one-line summary. */
const ENGINE_TEXT: Record<string, string> = {
  native:
    'The reference run: the guest kernel on the bare hardware model, in supervisor mode, with no VMM. Its output and final state define fidelity; its modeled cycles are the 1.0 of every overhead.',
  emulate:
    'Full emulation (Bochs-style): a software interpreter of the whole virtual CPU. It never enters a VMM — it already sees every instruction — and is faithful on any ISA, but every instruction costs an interpreted instruction.',
  'trap-emulate':
    'Trap-and-emulate (Popek & Goldberg): the guest kernel runs directly but deprivileged to user mode; privileged instructions trap to the VMM, which emulates them on a virtual CPU; memory uses shadow page tables. On the default ISA popf, pushf and rdmode do not trap, so it silently loses the virtual interrupt flag and diverges; on the classic ISA they trap and it is exact.',
  dbt:
    'Dynamic binary translation (VMware/QEMU-style): guest kernel code is translated block by block into host functions, with cli/sti/pushf/popf/rdmode rewritten into inline updates of the virtual CPU and I/O into callouts; user code runs directly. Blocks are cached, chained and invalidated when the guest writes its own code.',
  paravirt:
    'Paravirtualization (Xen-style): a modified build of the same kernel makes hypercalls instead of privileged instructions, masks interrupts by writing a shared page (no VMM entry), and batches validated page-table updates. It runs different code, so it is compared with the reference on its output only.',
  vtx:
    'Hardware-assisted virtualization (first-generation VT-x): the unmodified kernel runs in VMX non-root supervisor mode; popf, cli and system calls need no VMM; I/O, control-register accesses, hlt and page faults exit according to the VMCS controls, with Intel\'s exit-reason numbers. Memory uses shadow page tables, so every page-table-base load, traced page-table write, hidden fault and invlpg is an exit.',
  'vtx-ept':
    'The same VMM with nested paging (EPT) and VPID, the second generation of hardware assistance: the guest owns its page tables, cr3, invlpg and page faults; the only memory exits are EPT violations (the first touch of each guest-physical page), and every TLB miss costs a two-dimensional walk (up to 8 memory references instead of 2).',
};

/** One chart as inline SVG (exported for the tests that measure it). */
export async function renderChart(c: ChartDef): Promise<string> {
  const view = new vega.View(vega.parse(compile(c.spec).spec), { renderer: 'none' });
  try {
    return withHoverText(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * A static SVG has no vega tooltips (no script runs), but vega writes each data mark's fields into its aria-label:
 * copy that into a <title> child, which every browser shows on hover. (The label is already escaped for an
 * attribute, so it is valid as text.)
 */
export function withHoverText(svg: string): string {
  return svg.replace(
    /<(path|rect|circle|line|text)( aria-label="([^"]*)" role="graphics-symbol"[^>]*?)\/>/g,
    (_m, tag: string, attrs: string, label: string) => `<${tag}${attrs}><title>${label}</title></${tag}>`,
  );
}

const fmt = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '' : v.toFixed(digits));
const int = (v: number | null | undefined): string => (v === null || v === undefined ? '' : Math.round(v).toLocaleString('en-US'));

function cellOf(report: BenchReport, engine: string, workload: string): CellRecord | undefined {
  return report.cells.find((c) => c.engine === engine && c.workload === workload);
}

function fidelityMatrix(report: BenchReport): string {
  const head = `<tr><th>workload</th>${report.engines.map((e) => `<th>${esc(e.id)}</th>`).join('')}</tr>`;
  const rows = report.workloads.map((w) => {
    const tds = report.engines.map((e) => {
      const c = cellOf(report, e.id, w.name);
      if (!c) return '<td class="none">—</td>';
      if (c.status === 'error') return `<td class="error" title="${esc(c.error)}">error</td>`;
      const f = c.fidelity;
      const verdict = f?.verdict ?? '';
      const why =
        f && f.verdict === 'diverged'
          ? `first difference: ${f.differences[0] ?? ''}${f.cause ? `\ncause (the instruction that misbehaved first comes first): ${f.cause}` : ''}`
          : f?.compared === 'output'
            ? 'output compared (modified guest)'
            : '';
      return `<td class="${esc(verdict)}" title="${esc(why)}">${esc(verdict)}${f?.compared === 'output' ? '<sup>o</sup>' : ''}</td>`;
    });
    return `<tr><th>${esc(w.name)}</th>${tds.join('')}</tr>`;
  });
  const diverged = report.cells.filter((c) => c.fidelity?.verdict === 'diverged');
  const causes = diverged.length
    ? `<details><summary>Why each diverged run diverged (${diverged.length})</summary><table class="causes"><tr><th>engine</th><th>workload</th><th>first difference</th><th>misbehaved first</th><th>cause (in the order the instructions first misbehaved)</th></tr>${diverged
        .map(
          (c) =>
            `<tr><td>${esc(c.engine)}</td><td>${esc(c.workload)}</td><td>${esc(c.fidelity?.differences[0])}</td><td>${esc(firstToMisbehave(c) ?? '')}</td><td>${esc(c.fidelity?.cause ?? '')}</td></tr>`,
        )
        .join('')}</table></details>`
    : '';
  return `<table class="matrix fidelity">${head}${rows.join('')}</table>
<p class="note"><b>exact</b>: same console output, final registers, memory and number of guest instructions as the reference
(<sup>o</sup>: output only, for the modified paravirtual guest). <b>diverged</b>: something differed, or a sensitive
instruction silently did the wrong thing — hover a cell, or open the list below, for the first difference and the cause:
the instruction that misbehaved first, where the run left the reference's path, comes first.</p>${causes}`;
}

function overheadTable(report: BenchReport): string {
  const head = `<tr><th>workload</th><th>scale</th><th>native cycles</th>${report.engines.map((e) => `<th>${esc(e.id)}</th>`).join('')}</tr>`;
  const rows = report.workloads.map((w) => {
    const tds = report.engines.map((e) => {
      const c = cellOf(report, e.id, w.name);
      if (!c || c.status === 'error') return `<td class="${c ? 'error' : 'none'}">${c ? 'error' : '—'}</td>`;
      const cls = c.fidelity?.verdict === 'diverged' ? ' class="diverged"' : '';
      return `<td${cls}>${fmt(c.overheadVsNative)}×</td>`;
    });
    return `<tr><th>${esc(w.name)}</th><td>${esc(w.scale)}</td><td>${int(referenceCycles(report.cells, w.name))}</td>${tds.join('')}</tr>`;
  });
  return `<table class="matrix numbers">${head}${rows.join('')}</table>`;
}

/** The memory-virtualization section: per paging workload, what each engine did for the guest's page tables. */
function memorySection(report: BenchReport, figures: string): string {
  const paging = report.workloads.filter((w) => w.paging);
  if (paging.length === 0) return '';
  const cols: [string, string, (c: CellRecord) => string][] = [
    ['overhead', 'modeled cycles / native', (c) => `${fmt(c.overheadVsNative)}×`],
    ['mmu cycles', 'share of the modeled cycles spent on page walks and VMM page-table work (category mmu)', (c) => `${fmt((100 * (c.cycles?.byCategory.mmu ?? 0)) / (c.cycles?.total || 1), 1)}%`],
    // Headers and hover texts from the counter key list (src/metrics/counters.ts).
    ...[...MEMORY_EVENTS.map((e) => e.key), ...(['shadowUpdates', 'shadowContextsBuilt', 'tlbWalks'] as const)].map(
      (key): [string, string, (c: CellRecord) => string] => [shortLabel(key), counterField(key).label, (c) => int(c.counters?.[key])],
    ),
    [
      shortLabel('pageWalkRefs'),
      `${counterField('pageWalkRefs').label} (of which to the nested table)`,
      (c) => `${int(c.counters?.pageWalkRefs)}${c.counters?.nestedWalkRefs ? ` (${int(c.counters.nestedWalkRefs)})` : ''}`,
    ],
  ];
  const tables = paging.map((w) => {
    const rows = report.engines.map((e) => {
      const c = cellOf(report, e.id, w.name);
      if (!c || c.status === 'error' || !c.counters) return `<tr><th>${esc(e.id)}</th>${cols.map(() => '<td class="none">—</td>').join('')}</tr>`;
      const cls = c.fidelity?.verdict === 'diverged' ? ' class="diverged"' : '';
      return `<tr><th>${esc(e.id)}</th>${cols.map(([, , v]) => `<td${cls}>${esc(v(c))}</td>`).join('')}</tr>`;
    });
    return `<h3>${esc(w.name)} <small>(scale ${esc(w.scale)}: ${esc(w.purpose)})</small></h3>
<table class="matrix numbers memory"><tr><th>engine</th>${cols.map(([h, title]) => `<th title="${esc(title)}">${esc(h)}</th>`).join('')}</tr>${rows.join('')}</table>`;
  });
  return `<section id="memory"><h2>Memory virtualization</h2>
<p class="note">How each engine handles the guest's page tables on the workloads that exercise them. Shadow paging
(trap-emulate, dbt, vtx) write-protects ("traces") the guest's page tables and keeps its own copies: every
guest page-table write, shadow miss and address-space switch is VMM work — a trap, a callout, or under vtx a
VM exit. Paravirt validates batched updates. Nested paging (vtx-ept) leaves the tables to the guest and pays
in the hardware's walks instead. Counts are events; hover a column heading for its meaning.</p>
${figures}${tables.join('\n')}</section>`;
}

function presetTable(report: BenchReport): string {
  const p = report.preset;
  const rows = PRICE_KEYS.map((k) => `<tr><th>${esc(k)}</th><td>${int(p.prices[k].cycles)}</td><td>${esc(p.prices[k].source)}</td></tr>`);
  return `<p>${esc(p.name)} — ${esc(p.description)}</p><table class="preset"><tr><th>event</th><th>cycles</th><th>source</th></tr>${rows.join('')}</table>`;
}

function errorsSection(report: BenchReport): string {
  const errors = report.cells.filter((c) => c.status === 'error');
  if (errors.length === 0) return '';
  return `<section id="errors"><h2>Failed cells</h2><p>These engines threw a host exception (a bug in virtstrat, not a guest outcome); the rest of the matrix ran.</p>
<table><tr><th>engine</th><th>workload</th><th>error</th></tr>${errors.map((c) => `<tr><td>${esc(c.engine)}</td><td>${esc(c.workload)}</td><td><code>${esc(c.error)}</code></td></tr>`).join('')}</table></section>`;
}

/**
 * A quick report (--quick) says so at the top: its small scales are dominated by the kernel's boot and change the
 * conclusions (an overhead can move by a factor of two or more), and its timing samples are few.
 */
function quickBanner(report: BenchReport): string {
  if (!report.options.quick) return '';
  return `<p class="banner"><b>Quick run (--quick)</b>: every workload at its small quick scale, with short timing. Boot-dominated and not
representative — the overheads differ from a default run, sometimes by a factor of two or more. For numbers to quote, run
<code>npm run bench</code> without <code>--quick</code>.</p>`;
}

const CSS = `
body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1250px;color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}
table.matrix td{text-align:right;min-width:5.5em}table.fidelity td{text-align:center}
td.exact{background:#e3f4e1}td.diverged{background:#fbe0dc;color:#900;font-weight:bold}td.error{background:#eee;color:#555;font-style:italic}
td.none{color:#aaa}table.numbers td.diverged{font-weight:normal}
figure.chart{margin:1.5em 0;overflow-x:auto}figure.chart figcaption{max-width:60em;color:#444;font-size:.92em;margin-top:.4em}
.note{color:#555;font-size:.9em;max-width:60em}.engines dt{font-weight:bold;margin-top:.6em}.engines dd{margin-left:1.5em;max-width:60em}
code{font-size:.9em}.banner{background:#fff1cc;border:1px solid #e0b400;padding:.5em .8em;max-width:60em}table.preset td:nth-child(2){text-align:right}
`;

export async function renderHtml(report: BenchReport): Promise<string> {
  const defs = charts(report);
  const svgs = await Promise.all(defs.map(renderChart));
  const figure = (c: ChartDef, i: number): string =>
    `<figure class="chart" id="chart-${esc(c.id)}"><h3>${esc(c.title)}</h3>${svgs[i]}<figcaption><b>How to read it.</b> ${esc(c.howToRead)}</figcaption></figure>`;
  const figures = defs.map((c, i) => (c.section === undefined ? figure(c, i) : '')).join('\n');
  const memoryFigures = defs.map((c, i) => (c.section === 'memory' ? figure(c, i) : '')).join('\n');
  const s = report.summary;
  const o = report.options;
  const env = report.environment;
  const engines = report.engines
    .map((e) => `<dt>${esc(e.id)} — ${esc(e.title)}</dt><dd>${esc(ENGINE_TEXT[e.id] ?? e.summary)}</dd>`)
    .join('');
  const envRows: [string, string][] = [
    ['finished', report.finishedAt],
    ['generator', report.generator],
    ['node / V8', `${env.node} / ${env.v8}`],
    ['host', `${env.os} (${env.platform} ${env.arch}), ${env.cpus} × ${env.cpuModel}`],
    ['git commit', env.gitCommit ?? 'unknown'],
    ['engines', o.engines.join(', ')],
    ['workloads', o.workloads.join(', ')],
    ['cost preset', o.preset],
    ['ISA', o.isa],
    ['scale', o.scale === null ? (o.quick ? 'each workload\'s quick scale' : 'each workload\'s default scale') : String(o.scale)],
    [
      'timing',
      o.timingPlan
        ? `tinybench, wall clock: each cell at least ${o.timingPlan.timeMs} ms and ${o.timingPlan.iterations} runs, after ${o.timingPlan.warmupIterations} warm-up run${o.timingPlan.warmupIterations === 1 ? '' : 's'}, one cell at a time`
        : 'off (--no-timing)',
    ],
    ['counts', `${o.jobs} worker thread${o.jobs === 1 ? '' : 's'} (--jobs)`],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>virtstrat report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head>
<body>
<header><h1>virtstrat report</h1>
<p>${esc(s.cells)} runs: <b>${esc(s.exact)}</b> exact, <b>${esc(s.diverged)}</b> diverged, <b>${esc(s.errors)}</b> failed —
${esc(report.engines.length)} engines × ${esc(report.workloads.length)} workloads, cost preset <b>${esc(o.preset)}</b>, ${esc(o.isa)} ISA.</p>
${quickBanner(report)}<p class="note">Counts are exact and deterministic: the same run always gives the same numbers. Modeled cycles are those counts
times the per-event prices of the cost preset (listed below with their sources); nothing is priced per benchmark.
Host timings (throughput) measure this simulator on this machine and are shown apart.</p></header>
${errorsSection(report)}
<section id="fidelity"><h2>Fidelity</h2>${fidelityMatrix(report)}</section>
${popekGoldbergSection(report.classification, report.cells)}
<section id="overhead-table"><h2>Modeled overhead vs native</h2>${overheadTable(report)}
<p class="note">Modeled cycles relative to the reference run of the same workload; the native-cycles column is the reference's total. A diverged run is shaded: its cost is the cost of a wrong run.</p>
${belowOneNote(report)}</section>
${memorySection(report, memoryFigures)}
<section id="charts"><h2>Charts</h2>${figures}</section>
<section id="engines"><h2>The engines</h2><dl class="engines">${engines}</dl></section>
<section id="preset"><h2>Cost preset</h2>${presetTable(report)}</section>
<section id="environment"><h2>Environment and options</h2><table>${envRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table></section>
</body></html>
`;
}
