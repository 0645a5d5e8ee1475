/**
 * The in-process target in its own process (issue 14 §4): the gateway runs in a child process, its
 * CPU time is measured apart from the generator's, and it ends with the run — on stop(), when its
 * parent dies, and when the run is interrupted with Ctrl-C (SIGINT).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startInProcessGateway } from '../src/gateway/index.js';
import { resolveGatewayConfig } from '../src/config/resolve.js';
import { runLoad } from '../src/load/run.js';
import { loadOptions, repoRoot, waitFor } from './support.js';

const flags = { host: '127.0.0.1', port: 0, transport: 'quic', mode: 'async', 'upstream-latency': '1ms', 'upstream-distribution': 'fixed', 'before-notifies': 1, 'after-notifies': 1, 'task-timeout': '30s' } as const;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Process ids of the gateway child processes (gateway/child.js) whose parent is `ppid`. */
function gatewayChildren(ppid: number): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(ppid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out.split('\n').filter((l) => l.includes('gateway/child.js')).map((l) => Number(l.trim().split(/\s+/)[0]));
}

test('the in-process gateway runs in a child process; both sides\' CPU µs per response are recorded; stop() ends it', { timeout: 60_000 }, async () => {
  const gw = await startInProcessGateway(resolveGatewayConfig(flags as never, {}) as never);
  let stopped = false;
  try {
    assert.ok(gw.pid > 0 && gw.pid !== process.pid, `gateway pid ${gw.pid}`);
    assert.ok(alive(gw.pid));
    const r = await runLoad(loadOptions('async', { clients: 5, duration: '1s', 'rate-per-client': '20' }), gw);
    assert.ok(r.client.responses > 0);
    assert.ok((r.server!.cpu_us ?? 0) > 0, 'target CPU µs');
    assert.ok((r.server!.cpu_us_per_response ?? 0) > 0);
    assert.ok((r.generator.cpu_us ?? 0) > 0, 'generator CPU µs');
    assert.ok((r.generator.cpu_us_per_response ?? 0) > 0);
    assert.ok((r.server!.peak_rss_bytes ?? 0) > 10 * 1024 * 1024, 'the target process\'s own peak RSS');
    await gw.stop();
    stopped = true;
    assert.equal(alive(gw.pid), false, 'the child exited with stop()');
  } finally {
    if (!stopped) await gw.stop();
  }
});

test('the gateway child stops itself when its parent dies (SIGKILL)', { timeout: 60_000 }, async () => {
  const script = `
    const { startInProcessGateway } = await import(${JSON.stringify(path.join(repoRoot, 'dist/src/gateway/index.js'))});
    const { resolveGatewayConfig } = await import(${JSON.stringify(path.join(repoRoot, 'dist/src/config/resolve.js'))});
    const gw = await startInProcessGateway(resolveGatewayConfig(${JSON.stringify(flags)}, {}));
    process.stdout.write('pid ' + gw.pid + '\\n');
    setInterval(() => undefined, 1000);
  `;
  const file = path.join(os.tmpdir(), `gatectl-target-parent-${process.pid}.mjs`);
  fs.writeFileSync(file, script);
  const parent = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (d) => (out += d));
  try {
    await waitFor(() => /pid \d+/.test(out), 30_000, 'the gateway to start');
    const pid = Number(/pid (\d+)/.exec(out)![1]);
    assert.ok(alive(pid));
    parent.kill('SIGKILL');
    await waitFor(() => !alive(pid), 10_000, `gateway child ${pid} to exit after its parent died`);
  } finally {
    parent.kill('SIGKILL');
    fs.rmSync(file, { force: true });
  }
});

test('Ctrl-C (SIGINT) during a load run: the run ends and its gateway child process with it', { timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run.js'), 'load', '--clients', '5', '--duration', '30s', '--quiet', '--out', path.join(repoRoot, 'dist/test-target-process-sigint.json')],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    let gateways: number[] = [];
    await waitFor(() => (gateways = gatewayChildren(child.pid!)).length === 1, 30_000, 'the gateway child process');
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    assert.notEqual(code, 'timeout', `load did not end after SIGINT\n${stderr}`);
    await waitFor(() => !alive(gateways[0]!), 10_000, `gateway child ${gateways[0]} to exit`);
  } finally {
    child.kill('SIGKILL');
  }
});
