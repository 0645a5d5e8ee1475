/**
 * `gatectl load --out` values (issue 12 §4, k6 `--out`): the flag is repeatable and each value is
 * either `KIND=FILE`, a live output written while the run goes, or a bare FILE, the result JSON
 * (what `--out FILE` always meant). Kinds:
 * - `json=FILE`: NDJSON, one object per second and a final summary (output/files.ts);
 * - `csv=FILE`: one row per second (output/files.ts).
 * A value that starts with a word and `=` (`json=`, `JSON=`, `xml=`) is always read as a kind, so a
 * k6-style `--out json=run.ndjson` never writes a result file (or a directory) named `json=…`;
 * a file whose name really starts like that is given with a directory: `--out ./json=x.json`.
 */
import { InvalidInputError } from '../errors.js';

/** Kinds of live output `--out KIND=FILE` accepts. */
export const LIVE_OUTPUT_KINDS = ['json', 'csv'] as const;
/** One live output kind. */
export type LiveOutputKind = (typeof LIVE_OUTPUT_KINDS)[number];

/** The `--out` values of one command, sorted out. */
export interface OutSpecs {
  /** the bare FILE: where the result JSON goes (undefined: the default path) */
  resultFile?: string;
  /** live outputs in the order given */
  live: { kind: LiveOutputKind; file: string }[];
}

const KIND_PREFIX = /^([A-Za-z][A-Za-z0-9_-]*)=(.*)$/s;

/**
 * Sorts `--out` values into the result file and the live outputs. Throws InvalidInputError for an
 * unknown kind, an empty FILE, two bare result files, or one FILE given twice.
 */
export function parseOutSpecs(values: readonly string[] | undefined): OutSpecs {
  const out: OutSpecs = { live: [] };
  const seen = new Set<string>();
  for (const v of values ?? []) {
    const m = KIND_PREFIX.exec(v);
    let file: string;
    if (m !== null) {
      const kind = m[1]!.toLowerCase();
      file = m[2]!;
      if (!(LIVE_OUTPUT_KINDS as readonly string[]).includes(kind)) {
        throw new InvalidInputError(`--out ${JSON.stringify(v)}: unknown output "${m[1]}"; use json=FILE (NDJSON per second), csv=FILE (rows per second) ` +
          `or a bare FILE for the result JSON (a file whose name has "=" in it: give it with a directory, e.g. ./${v})`);
      }
      if (file === '') throw new InvalidInputError(`--out ${v}: give the file to write, e.g. --out ${kind}=reports/run.${kind === 'json' ? 'ndjson' : 'csv'}`);
      out.live.push({ kind: kind as LiveOutputKind, file });
    } else {
      if (v === '') throw new InvalidInputError('--out "": give a file, e.g. --out reports/run.json');
      if (out.resultFile !== undefined) {
        throw new InvalidInputError(`--out ${v}: the result file is already ${out.resultFile}; give one bare FILE, and json=FILE or csv=FILE for the live outputs`);
      }
      file = v;
      out.resultFile = v;
    }
    if (seen.has(file)) throw new InvalidInputError(`--out: ${file} is given twice; each output needs its own file`);
    seen.add(file);
  }
  return out;
}
