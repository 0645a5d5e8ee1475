/** Writes a VineQueue benchmark result as JSON and markdown (atomically, via src/metrics/files.ts). */
import path from 'node:path';
import { writeFileAtomic } from '../metrics/files.js';
import type { VineBenchResult } from './bench.js';
import { renderBenchMarkdown } from './bench-report.js';

/**
 * Writes `<outDir>/<name>.json` and `<outDir>/<name>.md` (name default `vinequeue-bench-<UTC stamp>`),
 * creating outDir. Returns both paths. Rejects with the fs error.
 */
export async function writeBenchReports(r: VineBenchResult, outDir = 'reports', name?: string): Promise<{ json: string; md: string }> {
  const base = name ?? `vinequeue-bench-${r.created_at.replace(/[:.]/g, '-')}`;
  const json = path.join(outDir, `${base}.json`);
  const md = path.join(outDir, `${base}.md`);
  await writeFileAtomic(json, JSON.stringify(r, null, 2) + '\n');
  await writeFileAtomic(md, renderBenchMarkdown(r));
  return { json, md };
}
