/**
 * The request mix (issue 4 §3): pick an action by weight and a payload size within its range. Kept
 * apart from the scenario loader so the load engine (and every generator process) loads it without
 * ajv or yaml.
 */
import type { MixEntry } from './types.js';

/**
 * A picker over `mix`: maps u ∈ [0, 1) (e.g. a seeded random) to an entry with probability
 * weight / Σ weights, and v ∈ [0, 1) to a payload size in bytes uniform on [min, max]. Pure.
 */
export function mixPicker(mix: readonly MixEntry[]): { pick(u: number): MixEntry; payloadBytes(entry: MixEntry, v: number): number } {
  const total = mix.reduce((a, m) => a + m.weight, 0);
  const bounds: number[] = [];
  let acc = 0;
  for (const m of mix) bounds.push((acc += m.weight / total));
  return {
    pick(u: number): MixEntry {
      for (let i = 0; i < mix.length; i++) if (u < bounds[i]!) return mix[i]!;
      return mix[mix.length - 1]!;
    },
    payloadBytes(entry: MixEntry, v: number): number {
      const { min, max } = entry.payloadBytes;
      return min + Math.min(max - min, Math.floor(v * (max - min + 1)));
    },
  };
}
