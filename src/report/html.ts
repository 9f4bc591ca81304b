/**
 * The HTML report: one self-contained page from a SimReport. The page is also the data — the
 * report's JSON is embedded as it is (`<script type="application/json" id="dmasim-report">`) — and
 * it asks nothing of the network: every script and style is inlined, and a Content-Security-Policy
 * forbids any fetch (scripts run only by hash, no connect, image or font source).
 *
 * What the server side renders, escaped: the header (tool, Node, seed, options, counts by code,
 * leaks, faults, devices), the legend and the list of violations. The timeline and the details
 * panel are drawn in the browser from the embedded JSON by html-script.ts, on a uPlot chart (x: the
 * trace sequence, the only clock events have; one lane per physical frame, violating frames first).
 * uPlot's minified build is read from node_modules at render time, so it is a runtime dependency.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { hex } from '../address.js';
import { VIOLATION_CODES } from '../ring.js';
import { FAULT_KINDS, TRACE_FIELDS } from '../trace.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './html-script.js';
import type { SimReport } from './types.js';

/** uPlot's script and style, read once. */
let uplot: { script: string; style: string } | undefined;

function uplotAssets(): { script: string; style: string } {
  if (!uplot) {
    const require = createRequire(import.meta.url);
    const script = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8')
      // Its banner names its home page as a URL; the page names no URL at all (the license travels
      // with the package: MIT, Leon Sorokin).
      .replace(/^\/\*! https?:\/\/github\.com\/leeoniya\/uPlot \((v[\d.]+)\) \*\//, '/*! uPlot $1, MIT License, (c) Leon Sorokin: github.com/leeoniya/uPlot */');
    const style = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    uplot = { script: inlineSafe(script, 'script'), style: inlineSafe(style, 'style') };
  }
  return uplot;
}

/** Text placed inside a raw-text element must not close it early. */
function inlineSafe(text: string, tag: 'script' | 'style'): string {
  if (new RegExp(`</${tag}`, 'i').test(text)) throw new Error(`dmasim: an inlined ${tag} contains </${tag}`);
  return text;
}

/** HTML text and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * JSON for a `<script type="application/json">` block: `<` as \u003c, so no `</script>` or `<!--`
 * inside a string can end the block; U+2028/2029 for good measure. JSON.parse reads it back as is.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

const e = escapeHtml;

function optionValue(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? String(v);
}

function deviceName(d: { kind: string; id: number; name: string }): string {
  return `${d.kind}#${d.id}${d.name !== d.kind ? ` (${d.name})` : ''}`;
}

function header(r: SimReport): string {
  const c = r.violationCounts;
  const codes = Object.entries(c.byCode).filter(([, n]) => n > 0);
  const ts = r.trace.stats;
  const chips = codes.length
    ? codes.map(([code, n]) => `<span class="chip bad" data-testid="count" data-code="${e(code)}">${e(code)} <b>×${n}</b></span>`).join('')
    : '<span class="chip ok">no violations</span>';
  const opts = Object.entries(r.options)
    .map(([k, v]) => `<span class="opt"><span class="k">${e(k)}</span>=${e(optionValue(v))}</span>`)
    .join(' ');
  const warn: string[] = [];
  if (c.total > c.kept) warn.push(`${c.total - c.kept} violation records counted but not kept in full (maxRecords)`);
  if (c.ringDropped > 0) warn.push(`${c.ringDropped} violations the shared ring could not take (raise ringCapacity)`);
  if (!r.trace.enabled) warn.push('trace off: the timeline shows violations only');
  if (ts.dropped > 0) warn.push(`${ts.dropped} trace events dropped by full rings (raise trace.capacity)`);
  if (ts.evicted > 0) warn.push(`${ts.evicted} older trace events evicted (raise trace.keep): the timeline starts later than the run`);
  return `<header>
<h1>dmasim report <span class="${c.total ? 'total bad' : 'total ok'}">${c.total} violation${c.total === 1 ? '' : 's'}</span>${r.leaks.length ? ` <span class="total warn">${r.leaks.length} leak${r.leaks.length === 1 ? '' : 's'}</span>` : ''}${r.faults.length ? ` <span class="total warn">${r.counters.faultsTotal} fault${r.counters.faultsTotal === 1 ? '' : 's'}</span>` : ''}</h1>
<p class="meta">${e(r.tool.name)} ${e(r.tool.version)} · node ${e(r.node)} · seed <b>${r.seed}</b> · memory ${r.memory.bytes / 1048576} MiB (${r.memory.frames} frames) · ${e(r.createdAt)} · trace ${r.trace.enabled ? `${ts.recorded} events recorded, ${r.trace.events.length} kept` : 'off'}</p>
<p class="meta">options: ${opts || '(defaults)'}</p>
<p class="counts">${chips}<span class="chip ${r.leaks.length ? 'warn' : 'plain'}" data-testid="leak-count">${r.leaks.length} leak${r.leaks.length === 1 ? '' : 's'}</span><span class="chip ${r.counters.faultsTotal ? 'warn' : 'plain'}" data-testid="fault-count">${r.counters.faultsTotal} device fault${r.counters.faultsTotal === 1 ? '' : 's'}</span><span class="chip plain">${r.devices.length} device${r.devices.length === 1 ? '' : 's'}</span></p>
${warn.length ? `<ul class="warnings">${warn.map((w) => `<li>${e(w)}</li>`).join('')}</ul>` : ''}
</header>`;
}

function devices(r: SimReport): string {
  if (!r.devices.length) return '';
  return `<details class="box"><summary>${r.devices.length} device${r.devices.length === 1 ? '' : 's'}</summary><table><tr><th>device</th><th>attachment</th><th>driver</th><th></th></tr>${r.devices
    .map((d) => `<tr><td>${e(deviceName(d))}</td><td>${d.attachment}</td><td>${e(d.driver)}</td><td>${d.detached ? 'detached' : ''}</td></tr>`)
    .join('')}</table></details>`;
}

function leaks(r: SimReport): string {
  if (!r.leaks.length) return '';
  return `<details class="box" open data-testid="leaks"><summary>${r.leaks.length} leak${r.leaks.length === 1 ? '' : 's'}</summary><table><tr><th>code</th><th>driver</th><th>device</th><th>frame</th><th>page</th><th>count</th><th>message</th></tr>${r.leaks
    .map(
      (l) =>
        `<tr><td class="code">${e(l.code)}</td><td>${e(l.driver ?? '')}</td><td>${l.device ? e(deviceName(l.device)) : ''}</td><td>${l.frame >= 0 ? hex(l.frame, 5) : ''}</td><td>${l.linearPage !== null ? hex(l.linearPage, 5) : ''}</td><td>${l.count}</td><td>${e(l.message)}${l.stacks.taken ? `<pre>${e(l.stacks.taken.join('\n'))}</pre>` : ''}</td></tr>`,
    )
    .join('')}</table></details>`;
}

function faults(r: SimReport): string {
  if (!r.faults.length) return '';
  return `<details class="box" open data-testid="faults"><summary>${r.counters.faultsTotal} device fault${r.counters.faultsTotal === 1 ? '' : 's'}</summary><table><tr><th>seq</th><th>device</th><th>driver</th><th>kind</th><th>message</th></tr>${r.faults
    .map(
      (f) =>
        `<tr><td>${f.seq}</td><td>${e(deviceName(f.device))}</td><td>${e(f.driver)}</td><td class="code">${e(f.kind)}</td><td>${e(f.message)}${f.command !== undefined ? ` (command ${f.command})` : ''}${f.stack ? `<pre>${e(f.stack)}</pre>` : ''}</td></tr>`,
    )
    .join('')}</table></details>`;
}

function violationList(r: SimReport): string {
  if (!r.violations.length) return '<p class="none">No violation records.</p>';
  return `<ol class="vlist">${r.violations
    .map((v) => {
      const who = v.device ? deviceName(v.device) : 'the VMM';
      const what = v.access ? `${v.access.direction} ${v.access.length} B at ${hex(v.access.start)}` : `phys ${hex(v.physAddr)}`;
      return `<li><a href="#violation-${v.seq}" data-testid="violation-item" data-seq="${v.seq}"><span class="seq">${v.seq}</span> <span class="code">${e(v.code)}</span> frame ${v.frame >= 0 ? hex(v.frame, 5) : 'outside RAM'} · ${e(who)}${v.driver ? ` · ${e(v.driver)}` : ''} · ${e(what)} · ${e(v.outcome)}</a></li>`;
    })
    .join('')}</ol>`;
}

const LEGEND: readonly [string, string][] = [
  ['lock', 'locked (lock → unlock), by driver'],
  ['gap', 'unlocked, then used'],
  ['dma', 'DMA access, by device (solid: write, pale: read)'],
  ['refused', 'DMA refused'],
  ['handout', 'address handed out'],
  ['pager', 'pager: move ➜, out ▼, discard ✕, in ▲'],
  ['irq', 'doorbell / interrupt'],
  ['violation', 'violation (click)'],
];

/** The page. Deterministic for a given report (no clock, no randomness). */
export function renderHtml(report: SimReport): string {
  const { script: uplotScript, style: uplotStyle } = uplotAssets();
  const schema = { violationCodes: VIOLATION_CODES, faultKinds: FAULT_KINDS, traceFields: TRACE_FIELDS };
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(uplotScript)} ${sha256(PAGE_SCRIPT)}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "connect-src 'none'",
    "font-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  // Our own text (base64 hashes and keywords): nothing in it needs escaping in a "…" attribute.
  if (/["<>&]/.test(csp)) throw new Error('dmasim: the page policy needs escaping');
  const title = `dmasim report: ${report.violationCounts.total} violation${report.violationCounts.total === 1 ? '' : 's'}, seed ${report.seed}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(title)}</title>
<style>${uplotStyle}</style>
<style>${PAGE_STYLE}</style>
</head>
<body>
${header(report)}
${leaks(report)}
${faults(report)}
${devices(report)}
<section class="timeline-box">
<h2>Timeline <span class="hint">x: trace sequence (virtual time) · drag to zoom, double-click to reset · hover for events</span></h2>
<div class="legend">${LEGEND.map(([k, t]) => `<span class="lg"><i class="sw ${k}"></i>${e(t)}</span>`).join('')}</div>
<div id="timeline" data-testid="timeline"><noscript>The timeline needs JavaScript; the data is in the JSON block of this page.</noscript></div>
<p id="lanes-note" class="hint"></p>
</section>
<section class="bottom">
<div class="list-box"><h2>Violations</h2>${violationList(report)}</div>
<aside id="violation-details" data-testid="violation-details" hidden></aside>
</section>
<script type="application/json" id="dmasim-schema">${embedJson(schema)}</script>
<script type="application/json" id="dmasim-report">${embedJson(report)}</script>
<script>${uplotScript}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** Writes the page for `report` to `file`, creating its parent folders. */
export async function writeHtmlReport(file: string, report: SimReport): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, renderHtml(report), 'utf8');
}
