/**
 * renderHtml on a synthetic report whose text is hostile (stacks, messages, names and options with
 * `<script>`, `</script>`, `&`, quotes): every bit of it is escaped where the server renders it, the
 * embedded JSON reads back equal to the report, the page names no URL and runs only the scripts
 * its Content-Security-Policy lists by hash, and writeHtmlReport makes the folders it needs.
 */

import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VIOLATION_CODES, type TraceEvent, type Violation, type ViolationCode } from '../src/index.js';
import { embedJson, escapeHtml, renderHtml, writeHtmlReport } from '../src/report/html.js';
import { REPORT_SCHEMA_VERSION, type SimReport } from '../src/report/types.js';

const EVIL = '</script><script>alert("x")</script><!-- & \' " \u2028';

const device = { id: 0, attachment: 1, kind: 'copy-engine', name: `dev ${EVIL}` };

const violation: Violation = {
  seq: 9,
  code: 'dma-unlocked',
  message: `message ${EVIL}`,
  device,
  driver: `driver ${EVIL}`,
  physAddr: 0x1000,
  frame: 1,
  linearPage: 0xc0000,
  access: { start: 0x1000, length: 4096, direction: 'read', command: 2 },
  epochSeen: 2,
  epochExpected: 1,
  outcome: 'blocked',
  detail: {},
  stacks: {
    lock: ['at lockIt (/x/a.ts:1:1)', `at <anonymous> ${EVIL}`],
    unlock: ['at Map<string, number>.get (/x/b.ts:2:2)'],
    handout: ['at handOut (/x/c.ts:3:3)'],
    programmed: ['at program (/x/d.ts:4:4)'],
  },
  frames: [{ frame: 1, state: 'quarantined', lockCount: 0, epoch: 2, page: null }],
};

const events: TraceEvent[] = [
  { seq: 1, kind: 'lock', slot: null, frame: 1, epoch: 1, driver: 0, page: 0xc0000 },
  { seq: 2, kind: 'handout', slot: null, frame: 1, epoch: 1, driver: 0, page: 0xc0000 },
  { seq: 4, kind: 'unlock', slot: null, frame: 1, epoch: 2, driver: 0, page: 0xc0000, inflight: 0 },
  { seq: 5, kind: 'page-move', slot: null, frame: 1, to: 7, page: 0xc0000, epoch: 2 },
  { seq: 8, kind: 'doorbell', slot: null, device: 1, driver: 0, command: 2 },
  { seq: 10, kind: 'violation', slot: 0, code: 0, device: 1, driver: 0, frame: 1, phys: 0x1000, record: 9 },
  {
    seq: 11, kind: 'dma', slot: 0, device: 1, driver: 0, command: 2, bytesRead: 0, bytesWritten: 0, frames: 1,
    phys: 0x1000, length: 4096, phys2: 0, length2: 0, outcome: 'refused', spans: 1, write: false, write2: false,
  },
  { seq: 12, kind: 'irq-raise', slot: 0, device: 1, count: 1 },
];

const byCode = Object.fromEntries(VIOLATION_CODES.map((c) => [c, c === 'dma-unlocked' ? 1 : 0])) as Record<ViolationCode, number>;

const report: SimReport = {
  schemaVersion: REPORT_SCHEMA_VERSION,
  tool: { name: 'dmasim', version: '0.1.0' },
  node: 'v20.0.0',
  createdAt: '2026-01-01T00:00:00.000Z',
  seed: 7,
  options: { pager: 'aggressive', note: EVIL, nested: { a: [1, 2] } },
  memory: { bytes: 16 << 20, frames: 4096 },
  drivers: ['default', 'B'],
  violations: [violation],
  violationCounts: { total: 1, byCode, kept: 1, ringDropped: 0 },
  leaks: [
    { code: 'lock-leak', message: `leak ${EVIL}`, driver: `driver ${EVIL}`, device: null, frame: 3, linearPage: 0xc0003, count: 1, detail: {}, stacks: { taken: [`at <anonymous> ${EVIL}`] } },
  ],
  faults: [{ seq: 13, device, driver: `driver ${EVIL}`, kind: 'threw', message: `fault ${EVIL}`, stack: `Error: ${EVIL}\n    at <anonymous>` }],
  devices: [{ ...device, driver: `driver ${EVIL}`, detached: false }],
  counters: { pager: { moves: 1 }, violationsDropped: 0, faultsTotal: 1 },
  trace: { enabled: true, stats: { recorded: events.length, dropped: 0, evicted: 0 }, events },
};

const html = renderHtml(report);

/** The text of every <script> element, with its attributes. */
function scripts(page: string): { attrs: string; body: string }[] {
  return [...page.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].map((m) => ({ attrs: m[1]!, body: m[2]! }));
}

describe('renderHtml', () => {
  it('escapes every hostile string: the only <script> elements are its own four', () => {
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('alert("x")');
    expect(html).not.toContain('<!-- &');
    const all = scripts(html);
    expect(all.map((s) => s.attrs.trim())).toEqual(['type="application/json" id="dmasim-schema"', 'type="application/json" id="dmasim-report"', '', '']);
    // The server-rendered text (list, header, leaks, faults) carries the escaped form.
    expect(html).toContain(escapeHtml(`driver ${EVIL}`));
    expect(html).toContain(escapeHtml(`leak ${EVIL}`));
    expect(html).toContain(escapeHtml(`at <anonymous> ${EVIL}`));
    expect(escapeHtml('<a href="x">&\'')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('embeds the report as JSON that reads back equal, with no < inside', () => {
    const block = scripts(html).find((s) => s.attrs.includes('id="dmasim-report"'))!;
    expect(block.body).not.toContain('<');
    expect(JSON.parse(block.body)).toEqual(report);
    expect(JSON.parse(embedJson(EVIL))).toBe(EVIL);
  });

  it('names no URL, and its policy allows no network and only its own scripts', () => {
    expect(html).not.toMatch(/https?:/i);
    expect(html.match(/\s(?:src|href)\s*=\s*(?!["']?#)\S{0,40}/gi)).toBeNull();
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    expect(csp).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'none'");
    for (const s of scripts(html).filter((x) => !x.attrs.includes('application/json'))) {
      const hash = createHash('sha256').update(s.body, 'utf8').digest('base64');
      expect(csp).toContain(`'sha256-${hash}'`);
    }
  });

  it('has the hooks the page script fills, the counts by code, and stays small', () => {
    expect(html).toContain('data-testid="timeline"');
    expect(html).toContain('data-testid="violation-details"');
    expect(html).toContain('data-testid="violation-item" data-seq="9"');
    expect(html).toContain('data-code="dma-unlocked"');
    expect(html).toContain('seed <b>7</b>');
    expect(Buffer.byteLength(html)).toBeLessThan(250 * 1024);
    // The same report gives the same page.
    expect(renderHtml(report)).toBe(html);
  });
});

describe('writeHtmlReport', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('creates the parent folders and writes the page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dmasim-html-'));
    dirs.push(dir);
    const file = join(dir, 'a', 'b', 'report.html');
    await writeHtmlReport(file, report);
    expect(await readFile(file, 'utf8')).toBe(html);
  });
});
