/**
 * What every benchmark report shares (pure, except `writeBenchFiles`): one table type and one
 * drawer — `TableData` of src/report/tables.ts, drawn for a terminal by src/report/terminal.ts's
 * cli-table3 `drawTable` and as markdown by markdown-table — a rate format, and the JSON + markdown
 * result files. Used by the loadgen, VineQueue and soak benchmarks (parent process only: the
 * measuring child processes never load it; the machine description is ./environment.ts).
 */
import path from 'node:path';
import { markdownTable } from 'markdown-table';
import { writeFileAtomic } from '../metrics/files.js';
import { drawTable } from '../report/terminal.js';
import type { TableData } from '../report/tables.js';

export type { TableData } from '../report/tables.js';

/** Draws a table for a terminal (cli-table3, no colours): src/report/terminal.ts `drawTable`. */
export const drawTerminal: (t: TableData) => string = drawTable;

/** Draws a table as GitHub markdown (markdown-table); a `|` inside a cell is escaped. */
export function drawMarkdown(t: TableData): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return markdownTable([t.head.map(esc), ...t.rows.map((r) => r.map(esc))]);
}

/** A rate with thousands separators: `1,234,567/s` (rounded to a whole number). */
export function fmtRate(n: number): string {
  return `${Math.round(n).toLocaleString('en-US')}/s`;
}

/** `2026-12-01T23-30-00-000Z`: an ISO time usable in a file name. */
export function fileStamp(iso: string): string {
  return iso.replace(/[:.]/g, '-');
}

/**
 * Writes `<outDir>/<base>.json` (the result, 2-space JSON) and `<outDir>/<base>.md` atomically
 * (src/metrics/files.ts), creating outDir. Returns both paths. Rejects with the fs error.
 */
export async function writeBenchFiles(result: unknown, markdown: string, outDir: string, base: string): Promise<{ json: string; md: string }> {
  const json = path.join(outDir, `${base}.json`);
  const md = path.join(outDir, `${base}.md`);
  await writeFileAtomic(json, JSON.stringify(result, null, 2) + '\n');
  await writeFileAtomic(md, markdown);
  return { json, md };
}
