/**
 * The machine a benchmark ran on, for its result and report header. Imports only node:os, so the
 * benchmarks' measuring child processes may load it without growing their RSS.
 */
import os from 'node:os';

/** The machine a benchmark ran on. */
export interface BenchEnvironment {
  /** process.version, e.g. `v20.20.2` */
  node: string;
  /** `linux-x64` */
  platform: string;
  /** os.release() */
  os_release: string;
  /** os.availableParallelism() */
  cpus: number;
  /** os.cpus()[0].model */
  cpu_model: string;
  /** os.totalmem(), bytes */
  total_mem_bytes: number;
}

/** This machine, as BenchEnvironment. */
export function benchEnvironment(): BenchEnvironment {
  return {
    node: process.version, platform: `${process.platform}-${process.arch}`, os_release: os.release(), cpus: os.availableParallelism(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown', total_mem_bytes: os.totalmem(),
  };
}

/** One line for a report header: `2 CPUs (model), 23.5 GiB RAM, Node v20…, linux-x64 6.18…`. */
export function environmentLine(e: BenchEnvironment): string {
  return `${e.cpus} CPUs (${e.cpu_model}), ${(e.total_mem_bytes / 1024 ** 3).toFixed(1)} GiB RAM, Node ${e.node}, ${e.platform} ${e.os_release}`;
}

/** os.loadavg() (1, 5, 15 min) rounded to 2 decimals. */
export function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}
