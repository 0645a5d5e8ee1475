// The layer direction (eslint no-restricted-imports, issue 11 §3) and the one duration grammar (§6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { formatDurationMs, parseDurationMs } from '../src/duration.js';
import { InvalidInputError } from '../src/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('eslint refuses an import against the layer direction, type imports included', async () => {
  const eslint = new ESLint({ cwd: root });
  const lint = async (file: string, text: string): Promise<string[]> => {
    const [r] = await eslint.lintText(text, { filePath: path.join(root, file) });
    return r!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  };
  const forbidden: [string, string][] = [
    ['src/metrics/fixture.ts', "import type { LoadOptions } from '../load/run.js';\nexport type X = LoadOptions;\n"],
    ['src/load/fixture.ts', "export { resolveLoadOptions } from '../config/load.js';\n"],
    ['src/scenario/fixture.ts', "import { runLoad } from '../load/run.js';\nexport const x = runLoad;\n"],
    ['src/protocol/fixture.ts', "import { createHistogram } from '../metrics/histogram.js';\nexport const x = createHistogram;\n"],
    ['src/gateway/fixture.ts', "import { Command } from '@oclif/core';\nexport const x = Command;\n"],
  ];
  for (const [file, text] of forbidden) {
    const msgs = await lint(file, text);
    assert.ok(msgs.some((m) => m.startsWith('@typescript-eslint/no-restricted-imports')), `${file}: ${JSON.stringify(msgs)}`);
  }
  assert.deepEqual(await lint('src/load/fixture.ts', "import { createHistogram } from '../metrics/histogram.js';\nexport const x = createHistogram;\n"), []);
});

test('one duration grammar: accepted and refused forms', () => {
  const ok: [string, number][] = [['500ms', 500], ['30s', 30_000], ['1.5m', 90_000], ['1m30s', 90_000], ['2h', 7_200_000], ['1h2m3s4ms', 3_723_004], [' 20s ', 20_000], ['0.5ms', 0.5], ['365d', 31_536_000_000], ['1d12h', 129_600_000]];
  for (const [text, want] of ok) assert.equal(parseDurationMs(text, '--duration'), want, text);
  for (const bad of ['3sec', '100days', '1h1d', '20', '30 s', '1s30m', '1m1m', 's', '', '-1s', '1e3ms', '0']) {
    assert.throws(() => parseDurationMs(bad, '--duration'), (e: unknown) => e instanceof InvalidInputError && /--duration .* is not a valid duration: use a number with a unit ms, s, m, h or d/.test((e as Error).message), bad);
  }
  assert.equal(parseDurationMs('0', '--heartbeat', { allowZero: true }), 0);
  assert.throws(() => parseDurationMs('25h', '--duration', { maxMs: 86_400_000, limitHint: 'give --no-duration-limit for a longer run' }),
    /--duration 25h is longer than the limit of 1d: give --no-duration-limit/);
  for (const v of [500, 30_000, 90_000, 7_200_000, 3_723_004, 31_536_000_000]) assert.equal(parseDurationMs(formatDurationMs(v), 'x'), v);
  assert.equal(formatDurationMs(90_000), '1m30s');
});
