import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { gatewayFlags } from '../cli/flags.js';
import { resolveGatewayConfig } from '../config/resolve.js';
import { GatewayServer } from '../gateway/index.js';
import { startMonitor } from '../monitor/server.js';
import { startMockUpstreamServer } from '../upstream/index.js';

/** `gatectl serve`: run the gateway until SIGINT/SIGTERM, then drain and close within 10 s. */
export default class Serve extends BaseCommand {
  static description = 'Run the gateway (QUIC on 4433, monitor on 8080, both on 127.0.0.1) until SIGINT/SIGTERM';
  static examples = ['<%= config.bin %> serve', '<%= config.bin %> serve --mode sync --port 4433 --monitor-port 8080'];
  static flags = {
    ...gatewayFlags,
    port: Flags.integer({ description: 'gateway port (0 = any free port)', default: 4433, min: 0, max: 65535 }),
    mode: Flags.string({ description: 'sync (send under the lock, inline processing) or async (send workers, AsyncRequestProcessor); default from QUEUE_ENABLE_ASYNC_SEND, else async' }),
    'monitor-host': Flags.string({ description: 'monitor bind address', default: '127.0.0.1' }),
    'monitor-port': Flags.integer({ description: 'monitor HTTP port (0 = any free port)', default: 8080, min: 0, max: 65535 }),
    'mock-upstream': Flags.boolean({ description: 'start the built-in mock upstream as a real HTTP server on 127.0.0.1 and call it over HTTP', default: false }),
    cert: Flags.string({ description: 'PEM certificate (with --key); default: a generated self-signed one' }),
    key: Flags.string({ description: 'PEM private key (with --cert)' }),
  };

  async run(): Promise<{ url: string; monitor: string; fingerprint_sha256: string; stopped: boolean }> {
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
      monitor = await startMonitor(gw, flags['monitor-host'], flags['monitor-port']);
    } catch (err) {
      await gw.stop(1000);
      await mock?.close();
      throw err;
    }
    this.note(`gatectl gateway listening on ${gw.url} (mode ${config.processorMode}, lock ${config.queue.lockScope})`);
    this.note(`certificate SHA-256 fingerprint: ${gw.cert.fingerprintSha256}`);
    this.note(`monitor: ${monitor.url}/queue/async-stats  ${monitor.url}/latency/send-ordered  ${monitor.url}/queue/config`);
    this.note(`upstream: ${config.upstreamUrl ?? 'in-process mock'}${mock !== null ? ' (built-in mock HTTP server)' : ''}`);
    this.note('press Ctrl-C to stop');
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    this.note(`${signal}: draining queues and closing sessions (at most 10 s)`);
    await gw.stop(10_000);
    await monitor.close();
    await mock?.close();
    this.note('stopped');
    return { url: gw.url, monitor: monitor.url, fingerprint_sha256: gw.cert.fingerprintSha256, stopped: true };
  }
}
