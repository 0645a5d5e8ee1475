/**
 * Where gatectl keeps state files (the quota store, the quota WAL, the event-export WAL) when no
 * flag names them (issue 11 §6: never the current directory).
 * - `serve`: the state directory, `$GATECTL_STATE_DIR`, else the OS data directory (env-paths:
 *   `$XDG_DATA_HOME/gatectl` or `~/.local/share/gatectl` on Linux, `~/Library/Application
 *   Support/gatectl` on macOS, `%LOCALAPPDATA%\gatectl\Data` on Windows), so a restart finds its store
 *   and WAL again;
 * - `load` and `compare` against the in-process gateway: a fresh temporary directory per command
 *   (removed when the process exits), so one run's quota usage never counts in the next.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import envPaths from 'env-paths';

/** The state directory of `serve`: `GATECTL_STATE_DIR`, else the OS data directory for gatectl. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.GATECTL_STATE_DIR;
  return given !== undefined && given !== '' ? path.resolve(given) : envPaths('gatectl', { suffix: '' }).data;
}

let runDir: string | null = null;

/**
 * A temporary state directory for this process's in-process gateways (`load`, `compare`, the
 * benches), created on first use under the OS temp directory and removed at exit. Throws what
 * mkdtemp throws (e.g. ENOSPC).
 */
export function runStateDir(): string {
  if (runDir === null) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatectl-state-'));
    runDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return runDir;
}

/** The default state files inside `dir`. */
export function stateFiles(dir: string): { quotaDb: string; quotaWalDir: string; eventsDir: string } {
  return { quotaDb: path.join(dir, 'quota.db'), quotaWalDir: path.join(dir, 'quota-wal'), eventsDir: path.join(dir, 'events-wal') };
}
