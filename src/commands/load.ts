import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { gatewayFlags, loadFlags } from '../cli/flags.js';
import { executeRun } from '../cli/execute.js';
import { resolveGatewayConfig } from '../config/resolve.js';
import { resolveLoadOptions } from '../config/load.js';
import { parseTargetUrl, type TargetHandle } from '../load/run.js';
import { remoteTarget } from '../load/remote.js';
import { defaultResultPath, writeFileAtomic } from '../metrics/files.js';
import type { RunResult } from '../metrics/result.js';
import { renderRunTerminal } from '../report/index.js';
import { InvalidInputError } from '../errors.js';

/** `gatectl load`: drive N QUIC clients against a gateway and record per-stage latency. */
export default class Load extends BaseCommand {
  static description = 'Drive concurrent clients against a gateway (the in-process one unless --target) and record latency';
  static examples = [
    '<%= config.bin %> load --clients 1000 --duration 20s',
    '<%= config.bin %> load --mode sync --clients 200 --duration 10s --out reports/sync.json',
    '<%= config.bin %> load --target quic://127.0.0.1:4433 --insecure --monitor http://127.0.0.1:8080',
  ];
  static flags = {
    ...gatewayFlags,
    ...loadFlags,
    mode: Flags.string({ description: 'in-process gateway profile: sync or async', default: 'async' }),
    target: Flags.string({ description: 'gateway URL (quic://HOST:PORT or tcp://HOST:PORT); default: start the in-process gateway' }),
    monitor: Flags.string({ description: 'monitor URL of a remote target, to fetch its stage histograms' }),
    insecure: Flags.boolean({ description: 'do not verify a remote target\'s certificate', default: false }),
    ca: Flags.string({ description: 'PEM CA file to verify a remote target with' }),
    out: Flags.string({ description: 'result file (default reports/run-<mode>-<time>.json)' }),
  };

  async run(): Promise<RunResult> {
    const { flags } = await this.parse(Load);
    const gateway = resolveGatewayConfig({ ...flags, port: 0 });
    let target: TargetHandle | null = null;
    if (flags.target !== undefined) {
      parseTargetUrl(flags.target);
      let ca: string | undefined;
      if (flags.ca !== undefined) {
        try {
          ca = readFileSync(flags.ca, 'utf8');
        } catch (err) {
          throw new InvalidInputError(`--ca ${flags.ca}: cannot read the file (${(err as NodeJS.ErrnoException).code}); give a PEM CA certificate`);
        }
      }
      if (!flags.insecure && ca === undefined) {
        throw new InvalidInputError(`--target ${flags.target}: give --ca FILE to verify the server certificate, or --insecure to skip verification (e.g. for gatectl serve's self-signed certificate)`);
      }
      target = remoteTarget(flags.target, { insecure: flags.insecure, ...(ca !== undefined ? { ca } : {}), ...(flags.monitor !== undefined ? { monitorUrl: flags.monitor } : {}) });
    }
    const label = flags.target === undefined ? gateway.processorMode : 'remote';
    const opts = resolveLoadOptions(flags, label);
    const result = await executeRun(opts, gateway, target, !flags.quiet);
    const out = flags.out ?? defaultResultPath('run', label);
    await writeFileAtomic(out, JSON.stringify(result, null, 2) + '\n');
    if (!this.jsonEnabled()) {
      this.log(renderRunTerminal(result));
      this.log(`result written to ${out}`);
    }
    return result;
  }
}
