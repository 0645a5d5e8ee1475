/**
 * Result files: written atomically (temp file in the same directory, then rename, so a reader never
 * sees half a report), read back with schema checks that name the file and the fix.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { COMPARISON_SCHEMA, RUN_SCHEMA, type ComparisonResult, type RunResult } from './result.js';

/** Writes `text` to `file` atomically, creating parent directories. Rejects with the fs error. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Default path of a new result under `reports/`: `reports/<kind>-<label>-<UTC timestamp>.json`. */
export function defaultResultPath(kind: 'run' | 'compare' | 'capacity', label: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return path.join('reports', `${kind}-${label.replace(/[^a-zA-Z0-9_-]+/g, '_')}-${stamp}.json`);
}

/**
 * Reads a RunResult or ComparisonResult. Throws InvalidInputError when the file is missing, is not
 * JSON, or has another schema.
 */
export async function readResultFile(file: string): Promise<RunResult | ComparisonResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`cannot read result file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; ` +
      'give the path of a JSON file written by `gatectl load` or `gatectl compare`');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`result file ${file} is not valid JSON (${(err as Error).message}); it may be truncated or not a gatectl result`);
  }
  const schema = (data as { schema?: unknown } | null)?.schema;
  if (schema === RUN_SCHEMA) {
    const r = data as RunResult;
    if (typeof r.client?.latency?.e2e?.histogram !== 'string') {
      throw new InvalidInputError(`result file ${file} claims ${RUN_SCHEMA} but has no client.latency.e2e histogram; re-run gatectl load`);
    }
    return r;
  }
  if (schema === COMPARISON_SCHEMA) return data as ComparisonResult;
  throw new InvalidInputError(`${file} is not a gatectl result: expected "schema": "${RUN_SCHEMA}" or "${COMPARISON_SCHEMA}", found ${JSON.stringify(schema)}`);
}
