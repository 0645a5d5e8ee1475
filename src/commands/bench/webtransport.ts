import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base.js';
import { parseDurationMs } from '../../duration.js';
import { InvalidInputError } from '../../errors.js';
import { DEFAULT_WEBTRANSPORT_BENCH_OPTIONS as D, runWebTransportBench, type WebTransportBenchResult } from '../../bench/webtransport/bench.js';
import { renderWebTransportTerminal, writeWebTransportReports } from '../../bench/webtransport/report.js';

/** `gatectl bench webtransport`: WebTransport against QUIC and TLS/TCP (issue 7 item 1; core: src/bench/webtransport/). */
export default class BenchWebTransport extends BaseCommand {
  static description = 'Benchmark WebTransport against QUIC and TLS/TCP: a 10 MB transfer each way over one connection (best of 3), then an open and a closed load run against the in-process gateway';
  static examples = ['<%= config.bin %> bench webtransport', '<%= config.bin %> bench webtransport --clients 100 --duration 10s --rate 2000'];
  static flags = {
    clients: Flags.integer({ description: 'clients of each load run', default: D.clients, min: 1, max: 10_000 }),
    duration: Flags.string({ description: 'length of each load run, e.g. 5s', default: `${D.durationMs / 1000}s` }),
    rate: Flags.string({ description: 'open-model load run: total requests/s', default: String(D.rate) }),
    'out-dir': Flags.string({ description: 'directory of the JSON and markdown results', default: 'reports' }),
    name: Flags.string({ description: 'base name of the result files', default: 'webtransport-bench' }),
  };

  async run(): Promise<WebTransportBenchResult> {
    const { flags } = await this.parse(BenchWebTransport);
    const rate = Number(flags.rate);
    if (flags.rate.trim() === '' || !Number.isFinite(rate)) throw new InvalidInputError(`--rate ${JSON.stringify(flags.rate)} is not a number: use requests/s, e.g. 1000`);
    const opts = { clients: flags.clients, durationMs: parseDurationMs(flags.duration, '--duration'), rate };
    const r = await runWebTransportBench(opts, ['gatectl', 'bench', 'webtransport', ...this.argv].join(' '), (l) => this.note(l));
    const files = await writeWebTransportReports(r, flags['out-dir'], flags.name);
    if (!this.jsonEnabled()) {
      this.log(renderWebTransportTerminal(r));
      this.log(`written: ${files.json}, ${files.md}`);
    }
    return r;
  }
}
