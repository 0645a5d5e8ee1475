// The command edge (issue 11 §1, §2): exit codes and --json envelopes per error class, graceful
// Ctrl-C for load (summary and an `interrupted` result file), errors rebuilt across processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gatectl as run, repoRoot, type Ran } from './support.js';
import { AddressInUseError, errorFromWire, errorToWire, GatectlError, InvalidInputError, TransportError } from '../src/errors.js';
import { exitCodeOf } from '../src/cli/exit-codes.js';
import { ThresholdsFailedError } from '../src/metrics/thresholds.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatectl-edge-'));
const gatectl = (args: string[], timeoutMs = 90_000): Promise<Ran> => run(args, tmp, timeoutMs);
const small = ['--clients', '5', '--duration', '1s', '--rate-per-client', '4', '--quiet'];

test('errors cross a boundary as {code, message} and come back as their class, with the exit code of their code', () => {
  const cases: [Error, new (...a: never[]) => Error, number][] = [
    [new InvalidInputError('bad --clients'), InvalidInputError, 2],
    [new AddressInUseError('port 4433 in use'), AddressInUseError, 2],
    [new TransportError('dial failed'), TransportError, 1],
  ];
  for (const [err, cls, exit] of cases) {
    const wire = JSON.parse(JSON.stringify(errorToWire(err))) as { code: string; message: string };
    const back = errorFromWire(wire);
    assert.ok(back instanceof cls, `${wire.code} → ${back.constructor.name}`);
    assert.equal(back.message, err.message);
    assert.equal(exitCodeOf(back), exit);
  }
  const unknown = errorFromWire({ code: 'GATECTL_QUOTA_STORE', message: 'disk full' });
  assert.ok(unknown instanceof GatectlError && unknown.code === 'GATECTL_QUOTA_STORE');
  assert.equal(errorToWire(Object.assign(new Error('x'), { code: 'ENOENT' })).code, 'GATECTL_ERROR', 'foreign codes are not ours');
  assert.equal(exitCodeOf(new ThresholdsFailedError([{ expr: 'e2e:p(99)<1ms', ok: false, actual: 5000, metric: 'e2e', agg: 'p(99)', op: '<', limit: 1000, unit: 'µs' } as never])), 99);
  assert.equal(exitCodeOf(new Error('a bug')), 1);
});

test('--json: every failure prints one {"error":{code,message}} document on stdout, with the exit code', async () => {
  const cases: [string[], string, number, RegExp][] = [
    [['load', '--json', '--duration', '3sec', ...small.filter((a) => a !== '1s' && a !== '--duration')], 'GATECTL_BAD_INPUT', 2, /--duration "3sec" is not a valid duration/],
    [['load', '--json', '--bogus'], 'GATECTL_USAGE', 2, /Nonexistent flag: --bogus/],
    [['load', '--json', '--clients', 'many'], 'GATECTL_USAGE', 2, /--clients: Expected an integer/],
    [['report', path.join(tmp, 'missing.json'), '--json'], 'GATECTL_BAD_INPUT', 2, /cannot read result file/],
    [['load', '--json', '--target', 'quic://127.0.0.1:9', '--insecure', '--connect-timeout', '500ms', ...small], 'GATECTL_TRANSPORT', 1, /no client could connect/],
  ];
  for (const [args, code, exit, re] of cases) {
    const r = await gatectl(args);
    assert.equal(r.code, exit, `${args.join(' ')}: ${r.stderr}`);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.equal(doc.error.code, code, args.join(' '));
    assert.match(doc.error.message, re);
    assert.match(r.stderr, /^Error: /m, 'the error is on stderr as well');
  }
  const plain = await gatectl(['load', '--bogus']);
  assert.equal(plain.code, 2);
  assert.equal(plain.stdout, '');
  assert.ok(plain.stderr.split('\n').filter((l) => l.trim() !== '').length <= 2, `one error line and one --help line, not the usage:\n${plain.stderr}`);
  assert.match(plain.stderr, /See 'gatectl load --help'/);
});

test('a failed threshold under --json prints the result (with its thresholds) and exits 99', async () => {
  const out = path.join(tmp, 'th.json');
  const r = await gatectl(['load', '--json', ...small, '--threshold', 'e2e:p(50)<1us', '--out', out]);
  assert.equal(r.code, 99, r.stderr);
  const doc = JSON.parse(r.stdout) as { schema: string; thresholds: { ok: boolean }[] };
  assert.equal(doc.schema, 'gatectl.run/v1');
  assert.equal(doc.thresholds[0]!.ok, false);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).thresholds, doc.thresholds);
  const rep = await gatectl(['report', out, '--json', '--format', 'markdown']);
  assert.equal(rep.code, 0, rep.stderr);
  const rd = JSON.parse(rep.stdout) as { file: string; schema: string; report: string };
  assert.equal(rd.schema, 'gatectl.run/v1');
  assert.match(rd.report, /\|/, 'report --json carries the rendered report');
  const pc = await gatectl(['report', out, '--percentiles', '50,95,max']);
  assert.equal(pc.code, 0, pc.stderr);
  assert.match(pc.stdout, /e2e p50 \/ p95 \/ max/, 'report --percentiles picks the statistics');
});

/** Starts `gatectl load`, sends SIGINT once the steady phase is under way, resolves when it exits. */
function interruptedLoad(args: string[]): Promise<Ran & { afterSigintMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run.js'), 'load', ...args], { cwd: tmp, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let sentAt = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (sentAt === 0 && /steady/.test(stderr)) {
        sentAt = performance.now();
        setTimeout(() => child.kill('SIGINT'), 1500);
      }
    });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`load did not stop after SIGINT\n${stderr}`)); }, 60_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, afterSigintMs: performance.now() - sentAt - 1500 }); });
  });
}

test('Ctrl-C during load: the run drains, prints its summary, writes a result marked interrupted, exits 130', async () => {
  for (const workers of ['1', '2']) {
    const out = path.join(tmp, `int-${workers}.json`);
    const r = await interruptedLoad(['--clients', '20', '--duration', '30s', '--rate-per-client', '5', '--workers', workers, '--out', out]);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted: no new requests; draining/);
    assert.ok(existsSync(out), 'the result file was written');
    const res = JSON.parse(readFileSync(out, 'utf8')) as { interrupted?: boolean; steady_s: number; client: { responses: number; unanswered: number }; warnings: string[] };
    assert.equal(res.interrupted, true);
    assert.ok(res.steady_s > 0.5 && res.steady_s < 20, `steady_s ${res.steady_s}`);
    assert.ok(res.client.responses > 0);
    assert.equal(res.client.unanswered, 0, 'the drain waited for the outstanding answers');
    assert.match(res.warnings[0]!, /^interrupted: /);
    assert.match(r.stdout, /responses/, 'the summary was printed');
    assert.match(r.stdout, /result written to/);
  }
});

test('a familiar CLI: short flags, -h, help by section, "did you mean", one duration grammar', async () => {
  const help = await gatectl(['load', '-h']);
  assert.equal(help.code, 0, help.stderr);
  const sections = help.stdout.split(/\n(?=[A-Z][A-Z &]+ FLAGS\n)/);
  for (const name of ['LOAD FLAGS', 'CLIENTS FLAGS', 'GATEWAY FLAGS', 'GATEWAY LIMITS FLAGS', 'UPSTREAM FLAGS', 'QUOTA & EVENTS FLAGS', 'CAPACITY FLAGS']) {
    const s = sections.find((x) => x.startsWith(name));
    assert.ok(s !== undefined, `load --help has a ${name} section`);
    assert.ok(s.split('\n').length < 80, `${name}: ${s.split('\n').length} lines`);
  }
  assert.match(help.stdout, /-c, --clients=<value>/);
  assert.match(help.stdout, /-d, --duration=<value>/);
  assert.match(help.stdout, /-R, --rate=<value>/);
  assert.match(help.stdout, /--send-workers=<value>\s+async send: workers that write/, 'gateway tuning flags are described in words');
  const typo = await gatectl(['loda']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /'loda' is not a gatectl command\. Did you mean 'load'\?/);
  for (const bad of ['3sec', '100days', '20', '1s30m']) {
    const r = await gatectl(['load', '-d', bad, '-c', '1', '--quiet']);
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /is not a valid duration: use a number with a unit ms, s, m, h or d/, bad);
  }
  for (const long of ['25h', '100d']) {
    const r = await gatectl(['load', '-d', long, '-c', '1', '--quiet']);
    assert.equal(r.code, 2, long);
    assert.match(r.stderr, new RegExp(`--duration ${long} is longer than the limit of 1d: give --no-duration-limit`));
  }
  const out = path.join(tmp, 'short.json');
  const ok = await gatectl(['load', '-c', '4', '-d', '1s500ms', '-R', '8', '--quiet', '--json', '--out', out]);
  assert.equal(ok.code, 0, ok.stderr);
  const res = JSON.parse(ok.stdout) as { steady_s: number; config: { clients: number; duration_ms: number; rate_per_s: number }; client: { requests_per_s: number } };
  assert.deepEqual([res.config.clients, res.config.duration_ms, res.config.rate_per_s], [4, 1500, 8]);
  assert.ok(res.steady_s >= 1.45, `the rate is over the requested 1.5 s, not up to the last arrival: steady_s ${res.steady_s}`);
  assert.ok(Math.abs(res.client.requests_per_s - 8) <= 1, `requests_per_s ${res.client.requests_per_s}`);
  assert.ok(!existsSync(path.join(tmp, '.gatectl')), 'load keeps no state file in the current directory (its in-process gateway gets a temporary one)');
});
