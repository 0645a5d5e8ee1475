import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { gatewayFlags } from '../cli/flags.js';
import { resolveGatewayConfig } from '../config/resolve.js';
import { GatewayServer, type ShutdownReport } from '../gateway/index.js';
import { startMonitor } from '../monitor/server.js';
import { webtransportMode } from '../transport/index.js';
import { startMockUpstreamServer } from '../upstream/index.js';

/**
 * `gatectl serve`: run the gateway until SIGINT/SIGTERM, then drain and close within 10 s and print
 * what the drain flushed; a second signal during the drain exits at once (exit code 130).
 */
export default class Serve extends BaseCommand {
  static description = 'Run the gateway (QUIC on 4433, monitor on 8080, both on 127.0.0.1) until SIGINT/SIGTERM';
  static examples = ['<%= config.bin %> serve', '<%= config.bin %> serve --mode sync --port 4433 --monitor-port 8080'];
  static flags = {
    ...gatewayFlags,
    port: Flags.integer({ description: 'gateway port (0 = any free port)', default: 4433, min: 0, max: 65535 }),
    mode: Flags.string({ description: 'sync (send under the lock, inline processing) or async (send workers, AsyncRequestProcessor); default from QUEUE_ENABLE_ASYNC_SEND, else async' }),
    'monitor-host': Flags.string({ description: 'monitor bind address', default: '127.0.0.1' }),
    'monitor-port': Flags.integer({ description: 'monitor HTTP port (0 = any free port)', default: 8080, min: 0, max: 65535 }),
    'monitor-token': Flags.string({ description: 'bearer token required on every monitor/admin request; required when --monitor-host is not loopback', env: 'GATECTL_MONITOR_TOKEN' }),
    admin: Flags.boolean({ description: 'serve POST /push on the monitor port (server-initiated unbound notifies)', default: false }),
    'mock-upstream': Flags.boolean({ description: 'start the built-in mock upstream as a real HTTP server on 127.0.0.1 and call it over HTTP', default: false }),
    cert: Flags.string({ description: 'PEM certificate (with --key); default: a generated self-signed one' }),
    key: Flags.string({ description: 'PEM private key (with --cert)' }),
  };

  async run(): Promise<{ url: string; monitor: string; fingerprint_sha256: string; stopped: boolean; shutdown: ShutdownReport }> {
    const { flags } = await this.parse(Serve);
    let config = resolveGatewayConfig(flags);
    const mock = flags['mock-upstream'] ? await startMockUpstreamServer(config.upstream, '127.0.0.1', 0) : null;
    if (mock !== null) config = Object.freeze({ ...config, upstreamUrl: mock.url });
    const gw = new GatewayServer(config);
    try {
      await gw.start();
    } catch (err) {
      await mock?.close();
      throw err;
    }
    let monitor;
    try {
      monitor = await startMonitor(gw, flags['monitor-host'], flags['monitor-port'], { admin: flags.admin, ...(flags['monitor-token'] !== undefined ? { token: flags['monitor-token'] } : {}) });
    } catch (err) {
      await gw.stop(1000);
      await mock?.close();
      throw err;
    }
    const wt = config.transport === 'webtransport' ? `, webtransport over ${webtransportMode() === 'http3' ? 'HTTP/3' : 'HTTP/2'}` : '';
    this.note(`gatectl gateway listening on ${gw.url} (mode ${config.processorMode}, lock ${config.queue.lockScope}${wt})`);
    this.note(`certificate SHA-256 fingerprint: ${gw.cert.fingerprintSha256}`);
    this.note(`monitor: ${monitor.url}/queue/async-stats  ${monitor.url}/latency/send-ordered  ${monitor.url}/queue/config`);
    if (flags.admin) this.note(`admin: POST ${monitor.url}/push  {"all": true, "topic": "news", "payload": "hello"}`);
    this.note(`upstream: ${config.upstreamUrl ?? 'in-process mock'}${mock !== null ? ' (built-in mock HTTP server)' : ''}`);
    this.note('press Ctrl-C to stop');
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
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
    const r = report;
    this.note(`stopped in ${r.duration_ms} ms: of ${r.tasks_pending_at_stop} pending tasks ${r.tasks_pending_at_stop - r.tasks_refused - r.tasks_abandoned} finished, ` +
      `${r.tasks_refused} answered 503 (shutting down), ${r.tasks_abandoned} abandoned; ${r.frames_flushed} frames flushed, ` +
      `${r.frames_discarded} discarded; ${r.sessions_closed} sessions closed` + (r.complete ? '' : ' (drain timed out)'));
    return { url: gw.url, monitor: monitor.url, fingerprint_sha256: gw.cert.fingerprintSha256, stopped: true, shutdown: report };
  }
}
