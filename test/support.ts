/** Shared test helpers. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection, Dialer } from '../src/transport/types.js';
import { ClientMessageType, FrameDecoder, ServerPushType, type ClientMessage, type ServerPush } from '../src/protocol/index.js';
import { resolveLoadOptions, type LoadFlags } from '../src/config/load.js';
import type { LoadOptions } from '../src/load/run.js';
import type { ClientResult } from '../src/metrics/result.js';
import assert from 'node:assert/strict';

/** LoadOptions built the way the CLI builds them, from flags (defaults: open model, 1 s, 1 req/s per client). */
export function loadOptions(label: string, flags: Partial<LoadFlags> & { clients: number }): LoadOptions {
  return resolveLoadOptions({ duration: '1s', 'payload-bytes': 8, 'connect-timeout': '10s', 'drain-timeout': '10s', ...flags }, label);
}

/** The repository root (tests run from dist/test). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// every gatectl this test process starts (serve, load) keeps its state files in one temporary
// directory of this process, not in the user's data directory (src/state-dir.ts)
process.env.GATECTL_STATE_DIR ??= mkdtempSync(path.join(os.tmpdir(), 'gatectl-test-state-'));

/** What a gatectl child process did. */
export interface Ran { code: number | null; stdout: string; stderr: string }

/** Runs `bin/run.js args` in `cwd`; rejects (after killing it) when it takes longer than `timeoutMs`. */
export function gatectl(args: string[], cwd: string, timeoutMs = 90_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run.js'), ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`gatectl ${args.join(' ')} timed out\n${stderr}`)); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** A raw client: records every push and whether the connection closed. */
export class RawClient {
  readonly pushes: ServerPush[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder<ServerPush>(ServerPushType, (p) => this.pushes.push(p));
  constructor(readonly conn: Connection) {
    conn.setHandlers({ data: (c) => this.decoder.push(c), close: () => { this.closed = true; } });
  }
  static async open(dialer: Dialer, port: number, userId: string): Promise<RawClient> {
    const c = new RawClient(await dialer.dial('127.0.0.1', port));
    await c.send({ msgId: 1, hello: { userId, token: 't' } });
    await waitFor(() => c.pushes.some((p) => p.body === 'hello'), 5000, 'hello response');
    return c;
  }
  send(m: ClientMessage): Promise<void> {
    return this.conn.write(ClientMessageType.encodeDelimited(m));
  }
  count(body: ServerPush['body']): number {
    return this.pushes.filter((p) => p.body === body).length;
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


/**
 * The checks of a clean run: every client connected, at least `minSent` requests, each answered
 * once with `notifiesPerResponse` notifies, no error and no protocol violation.
 */
export function assertCleanRun(c: ClientResult, clients: number, minSent: number, notifiesPerResponse: number): void {
  assert.equal(c.connected, clients);
  assert.ok(c.requests_sent >= minSent, `sent ${c.requests_sent}`);
  assert.equal(c.responses, c.requests_sent, 'every request answered');
  assert.equal(c.unanswered, 0);
  assert.equal(c.notifies, c.responses * notifiesPerResponse);
  assert.deepEqual(c.violations, { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 });
  assert.deepEqual(c.errors_by_code, {});
  assert.deepEqual(c.transport_errors, {});
}
