// ESLint flat config: typescript-eslint recommended rules over src/ and test/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const OCLIF_ONLY_AT_THE_EDGE = { name: '@oclif/core', message: 'Only src/commands and src/cli may import oclif (DESIGN §1).' };

/** A flat-config block for the files `glob`: oclif stays at the edge and none of `above` (folders under src/) is imported. */
function layer(glob, above) {
  const patterns = above.length === 0 ? [] : [{
    regex: `^(\\.\\./)+(${above.join('|')})(/|\\.js$)`,
    message: `${glob.split('/')[1]}/ sits below ${above.join(', ')} (the layer direction in eslint.config.js); move the shared piece down instead.`,
  }];
  return [{
    files: [glob],
    ignores: ['src/commands/**', 'src/cli/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [OCLIF_ONLY_AT_THE_EDGE], patterns }] },
  }];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-restricted-imports': 'off',
    },
  },
  // The direction of the layout (issue 11 §3, DESIGN §1): a layer never imports one above it, type
  // imports included, so there is no import circle and a generator process loads only what it uses.
  // Check the whole graph with `npm run cycles`.
  ...layer('src/**/*.ts', []),
  ...layer('src/protocol/**/*.ts', ['metrics', 'transport', 'scenario', 'load', 'config', 'gateway', 'queue', 'quota', 'upstream', 'vinequeue', 'monitor', 'report', 'output', 'bench']),
  ...layer('src/metrics/**/*.ts', ['protocol', 'transport', 'scenario', 'load', 'config', 'gateway', 'queue', 'quota', 'upstream', 'vinequeue', 'monitor', 'report', 'output', 'bench']),
  ...layer('src/transport/**/*.ts', ['metrics', 'scenario', 'load', 'config', 'gateway', 'queue', 'quota', 'upstream', 'vinequeue', 'monitor', 'report', 'output', 'bench']),
  ...layer('src/scenario/**/*.ts', ['transport', 'load', 'config', 'gateway', 'queue', 'quota', 'vinequeue', 'monitor', 'report', 'output', 'bench']),
  ...layer('src/load/**/*.ts', ['config', 'gateway', 'queue', 'quota', 'upstream', 'vinequeue', 'monitor', 'report', 'output', 'bench']),
  ...layer('src/report/**/*.ts', ['load', 'config', 'gateway', 'transport', 'output', 'bench']),
  ...layer('src/output/**/*.ts', ['load', 'config', 'gateway', 'transport', 'bench']),
  {
    files: ['bin/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
