import { readFileSync, statSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { gatewayFlags } from '../cli/flags.js';
import { resolveGatewayConfig } from '../config/resolve.js';
import { InvalidInputError } from '../errors.js';
import { CRASH_DRAIN_TIMEOUT_MS, GatewayServer, installCrashPolicy, type ShutdownReport } from '../gateway/index.js';
import { startMonitor, type MonitorServer } from '../monitor/server.js';
import { describeRecovery } from '../quota/index.js';
import { webtransportMode } from '../transport/index.js';
import { startMockUpstreamServer } from '../upstream/index.js';

/**
 * The monitor token: from `--monitor-token-file FILE` (its content, trailing newline removed) or
 * `--monitor-token` / `GATECTL_MONITOR_TOKEN`. Throws InvalidInputError when both are given, or the
 * file cannot be read or is empty. Returns warnings to print (a token on the command line, a file
 * other users can read).
 */
export function monitorToken(flags: { 'monitor-token'?: string; 'monitor-token-file'?: string }, argv: readonly string[]): { token?: string; warnings: string[] } {
  const warnings: string[] = [];
  const file = flags['monitor-token-file'];
  const onCommandLine = argv.some((a) => a === '--monitor-token' || a.startsWith('--monitor-token='));
  if (file !== undefined && flags['monitor-token'] !== undefined) {
    throw new InvalidInputError('--monitor-token-file and --monitor-token (or GATECTL_MONITOR_TOKEN) both give the monitor token: keep only --monitor-token-file');
  }
  if (onCommandLine) {
    warnings.push('warning: --monitor-token on the command line is visible to other users of this machine (ps, /proc/PID/cmdline): put it in a file only you can read and pass --monitor-token-file FILE, or set GATECTL_MONITOR_TOKEN');
  }
  if (file === undefined) return { ...(flags['monitor-token'] !== undefined ? { token: flags['monitor-token'] } : {}), warnings };
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode;
  } catch (err) {
    throw new InvalidInputError(`--monitor-token-file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a readable file that holds the token`);
  }
  const token = text.replace(/[\r\n]+$/, '');
  if (token === '' || /[\r\n]/.test(token)) {
    throw new InvalidInputError(`--monitor-token-file ${file} must hold the token on one line (it is ${token === '' ? 'empty' : 'several lines'})`);
  }
  if ((mode & 0o077) !== 0) {
    warnings.push(`warning: --monitor-token-file ${file} can be read by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 ${file}`);
  }
  return { token, warnings };
}

/**
 * `gatectl serve`: run the gateway until SIGINT/SIGTERM, then drain and close within 10 s and print
 * what the drain flushed; a second signal during the drain exits at once (exit code 130).
 * Crash policy (issue 16 §6): an uncaught exception or unhandled rejection is logged with its
 * stack (pino, fatal) and counted (`gatectl_uncaught_errors_total`), the gateway drains for at most
 * 5 s, and the process exits with code 70.
 */
export default class Serve extends BaseCommand {
  static description = 'Run the gateway (QUIC on 4433, monitor on 8080, both on 127.0.0.1) until SIGINT/SIGTERM';
  static examples = ['<%= config.bin %> serve', '<%= config.bin %> serve --mode sync --port 4433 --monitor-port 8080',
    '<%= config.bin %> serve --monitor-host 0.0.0.0 --monitor-token-file ~/.gatectl-token'];
  static flags = {
    ...gatewayFlags,
    port: Flags.integer({ description: 'gateway port (0 = any free port)', default: 4433, min: 0, max: 65535 }),
    mode: Flags.string({ description: 'sync (send under the lock, inline processing) or async (send workers, AsyncRequestProcessor); default from QUEUE_ENABLE_ASYNC_SEND, else async' }),
    'monitor-host': Flags.string({ description: 'monitor bind address', default: '127.0.0.1' }),
    'monitor-port': Flags.integer({ description: 'monitor HTTP port (0 = any free port)', default: 8080, min: 0, max: 65535 }),
    'monitor-token': Flags.string({ description: 'bearer token required on every monitor/admin request (required when --monitor-host is not loopback); prefer --monitor-token-file or GATECTL_MONITOR_TOKEN: a command line is visible to other users', env: 'GATECTL_MONITOR_TOKEN' }),
    'monitor-token-file': Flags.string({ description: 'file holding the monitor bearer token (one line; chmod 600): keeps the secret out of ps' }),
    admin: Flags.boolean({ description: 'serve POST /push on the monitor port (server-initiated unbound notifies)', default: false }),
    'mock-upstream': Flags.boolean({ description: 'start the built-in mock upstream as a real HTTP server on 127.0.0.1 and call it over HTTP', default: false }),
    cert: Flags.string({ description: 'PEM certificate (with --key); default: a generated self-signed one' }),
    key: Flags.string({ description: 'PEM private key (with --cert)' }),
  };

  async run(): Promise<{ url: string; monitor: string; fingerprint_sha256: string; stopped: boolean; shutdown: ShutdownReport }> {
    const { flags } = await this.parse(Serve);
    let config = resolveGatewayConfig(flags);
    const { token, warnings } = monitorToken(flags, this.argv);
    for (const w of warnings) this.note(w);
    const mock = flags['mock-upstream'] ? await startMockUpstreamServer(config.upstream, '127.0.0.1', 0) : null;
    if (mock !== null) config = Object.freeze({ ...config, upstreamUrl: mock.url });
    const gw = new GatewayServer(config);
    try {
      await gw.start();
    } catch (err) {
      await mock?.close();
      throw err;
    }
    let monitor: MonitorServer;
    try {
      monitor = await startMonitor(gw, flags['monitor-host'], flags['monitor-port'], { admin: flags.admin, ...(token !== undefined ? { token } : {}) });
    } catch (err) {
      await gw.stop(1000);
      await mock?.close();
      throw err;
    }
    const summary = (r: ShutdownReport) => `stopped in ${r.duration_ms} ms: of ${r.tasks_pending_at_stop} pending tasks ${r.tasks_pending_at_stop - r.tasks_refused - r.tasks_abandoned} finished, ` +
      `${r.tasks_refused} answered 503 (shutting down), ${r.tasks_abandoned} abandoned; ${r.frames_flushed} frames flushed, ` +
      `${r.frames_discarded} discarded; ${r.sessions_closed} sessions closed` + (r.complete ? '' : ' (drain timed out)');
    const policy = installCrashPolicy({
      log: gw.log,
      count: (kind) => gw.noteUncaught(kind),
      drainTimeoutMs: CRASH_DRAIN_TIMEOUT_MS,
      drain: async (kind) => {
        this.note(`${kind === 'exception' ? 'uncaught exception' : 'unhandled rejection'} (logged above): draining for at most ${CRASH_DRAIN_TIMEOUT_MS / 1000} s, then exiting with code 70`);
        const report = await gw.stop(CRASH_DRAIN_TIMEOUT_MS - 500);
        await monitor.close();
        await mock?.close();
        this.note(summary(report));
      },
    });
    const wt = config.transport === 'webtransport' ? `, webtransport over ${webtransportMode() === 'http3' ? 'HTTP/3' : 'HTTP/2'}` : '';
    this.note(`gatectl gateway listening on ${gw.url} (mode ${config.processorMode}, lock ${config.queue.lockScope}${wt})`);
    this.note(`certificate SHA-256 fingerprint: ${gw.cert.fingerprintSha256}`);
    this.note(`monitor: ${monitor.url}/queue/async-stats  ${monitor.url}/latency/send-ordered  ${monitor.url}/gateway/stats  ${monitor.url}/metrics`);
    if (flags.admin) this.note(`admin: POST ${monitor.url}/push  {"all": true, "topic": "news", "payload": "hello"}`);
    this.note(`upstream: ${config.upstreamUrl ?? 'in-process mock'}${mock !== null ? ' (built-in mock HTTP server)' : ''}`);
    // issue 15 §4: the WAL was recovered inside gw.start(), before the listener accepted anyone
    if (gw.quota?.durable != null) this.note(describeRecovery(gw.quota.durable.recovery));
    this.note('press Ctrl-C to stop');
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    if (policy.crashed) {
      this.note(`${signal} during the crash drain: exiting without waiting for it`);
      process.exit(130);
    }
    this.note(`${signal}: draining queues and closing sessions (at most 10 s; send the signal again to exit at once)`);
    const force = (sig: string) => {
      this.note(`${sig} again: exiting without waiting for the drain`);
      process.exit(130);
    };
    process.once('SIGINT', force);
    process.once('SIGTERM', force);
    const report = await gw.stop(10_000);
    await monitor.close();
    await mock?.close();
    process.removeListener('SIGINT', force);
    process.removeListener('SIGTERM', force);
    // a fault during this drain: the crash policy exits with code 70 once its own drain (this one) ends
    if (!policy.crashed) policy.uninstall();
    this.note(summary(report));
    return { url: gw.url, monitor: monitor.url, fingerprint_sha256: gw.cert.fingerprintSha256, stopped: true, shutdown: report };
  }
}
