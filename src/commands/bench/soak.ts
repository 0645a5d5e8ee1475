import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base.js';
import { BenchFailedError } from '../../errors.js';
import { renderSoakTerminal, writeSoakReports } from '../../bench/soak/report.js';
import { DEFAULT_SOAK_OPTIONS as D, runSoak, soakOptionsFromFlags, type SoakResult } from '../../bench/soak/soak.js';

/**
 * `gatectl bench soak` (`npm run soak`): the bounded soak of issue 7 (core: src/bench/soak/). Writes
 * reports/soak-<time>.json and .md; exit 0 when every check passed, 1 when one failed (after the
 * files are written), 2 for bad flags.
 */
export default class BenchSoak extends BaseCommand {
  static description = 'Soak the in-process gateway: well-behaved clients for a fixed time while misbehaving clients inject faults (garbage frames and datagrams, slow consumers, silent sessions, no Hello, connect floods, replayed Retry tokens); passes with no lost response, no order violation, every fault handled, e2e p99 < 100 ms and RSS growth < 10%';
  static examples = ['<%= config.bin %> bench soak', '<%= config.bin %> bench soak --duration 2m --clients 500 --rate 200'];
  static flags = {
    duration: Flags.string({ description: 'length of the soak, e.g. 10m or 90s (RSS growth is judged from minute 2; shorter runs use the second fifth)', default: '10m' }),
    clients: Flags.integer({ description: 'well-behaved clients', default: D.clients, min: 1 }),
    rate: Flags.string({ description: 'total requests/s of the well-behaved clients', default: String(D.rate) }),
    workers: Flags.integer({ description: 'generator processes of the well-behaved clients', default: D.workers, min: 1, max: 64 }),
    'idle-timeout': Flags.string({ description: 'the gateway\'s idle timeout: silent sessions are closed after it', default: '30s' }),
    'out-dir': Flags.string({ description: 'directory of the JSON and markdown results', default: 'reports' }),
    name: Flags.string({ description: 'base name of the result files (default soak-<start time>)' }),
  };

  async run(): Promise<SoakResult> {
    const { flags } = await this.parse(BenchSoak);
    const opts = soakOptionsFromFlags(flags);
    this.note(`soak: ${opts.clients} clients, ${opts.rate} req/s, ${opts.durationMs / 1000} s, faults injected alongside`);
    const r = await runSoak(opts, ['gatectl', 'bench', 'soak', ...this.argv].join(' '), (l) => this.note(l));
    const files = await writeSoakReports(r, flags['out-dir'], flags.name);
    if (!this.jsonEnabled()) {
      this.log(renderSoakTerminal(r));
      this.log(`written: ${files.json}, ${files.md}`);
    }
    if (!r.passed) {
      this.resultForJson = r;
      throw new BenchFailedError(`soak failed: ${r.checks.filter((k) => !k.ok).map((k) => k.name).join('; ')} (details in ${files.md})`);
    }
    return r;
  }
}
