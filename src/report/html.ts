/** Placeholder until the HTML report lands (branch html): a minimal self-contained page. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SimReport } from './types.js';

export function renderHtml(report: SimReport): string {
  const json = JSON.stringify(report).replace(/</g, '\\u003c');
  return `<!doctype html><meta charset="utf-8"><title>dmasim report</title><script type="application/json" id="dmasim-report">${json}</script>`;
}

export async function writeHtmlReport(file: string, report: SimReport): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, renderHtml(report));
}
