/**
 * Child-process entry of the VineQueue benchmark: `node child.js <v1|v2> <options JSON>` runs
 * the variant's cells (./bench.ts runVariant) and sends the VariantResult to the parent over IPC.
 */
import { runVariant, type BenchOptions } from './bench.js';

const [variant, json] = process.argv.slice(2);
if ((variant !== 'v1' && variant !== 'v2') || json === undefined || process.send === undefined) {
  process.stderr.write('child.js is started by the vinequeue benchmark (fork with IPC): args <v1|v2> <options JSON>\n');
  process.exit(2);
}
const result = await runVariant(variant, JSON.parse(json) as BenchOptions);
process.send!(result, () => process.exit(0));
