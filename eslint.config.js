// ESLint (flat config): typescript-eslint's recommended rules plus the few strict ones that catch
// real bugs here. No stylistic rules: formatting is the style guide's business, and code from other
// branches must pass without churn. `npm test` runs `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Folders that must run in a browser or a Worker (see docs/architecture.md). tsconfig.pure.json and
// test/purity.test.ts enforce the same boundary; this rule names the line in the editor.
const PURE = ['packages/core/src/**/*.ts'];
const NOT_PURE = ['packages/core/src/node/**', 'packages/core/src/internal.ts'];
const NODE_BUILTINS = ['fs', 'fs/promises', 'path', 'os', 'crypto', 'module', 'child_process', 'worker_threads', 'stream', 'buffer', 'util', 'url', 'events'];

const NODE_GLOBALS = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'TextEncoder', 'TextDecoder', 'setTimeout', 'clearTimeout', 'performance', 'structuredClone'].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['**/dist/**', 'packages/cli/dist-bundle/**', 'packages/cli/dist-bin/**', '.test-build/**', '**/node_modules/**', 'bench-work/**', 'packages/core/src/policy/trust-policy.validate.ts', 'packages/core/pure-globals.d.ts'] },
  // A disable comment for a rule this config turns off is harmless: do not fail on it.
  { linterOptions: { reportUnusedDisableDirectives: 'off' } },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    // The three TypeScript projects (the package tests compile with test/tsconfig.json).
    languageOptions: { parserOptions: { project: ['packages/core/tsconfig.json', 'packages/cli/tsconfig.json', 'test/tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits loses its error and its ordering (a write that may not have happened).
      // node:test's describe/test return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always'],
      // Unused names are the compiler's job (noUnusedLocals/Parameters), with its own exceptions.
      '@typescript-eslint/no-unused-vars': 'off',
      // Code that refuses control characters in hostile names must be able to match them.
      'no-control-regex': 'off',
      // Stylistic.
      'no-regex-spaces': 'off',
      // Comma sequences and dead stores in the scanners' tight loops are style, not bugs; merged
      // branches use them, and this set must not churn their code.
      '@typescript-eslint/no-unused-expressions': 'off',
      'no-useless-assignment': 'off',
    },
  },
  {
    files: PURE,
    ignores: NOT_PURE,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ regex: '^node:', message: 'the pure core imports no node: module; put file-system code in packages/core/src/node' }],
          paths: NODE_BUILTINS.map((name) => ({ name, message: 'the pure core imports no Node built-in' })),
        },
      ],
      'no-restricted-globals': ['error', 'Buffer', 'process', 'require', 'global', '__dirname', '__filename'],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: NODE_GLOBALS },
  },
  {
    // The launcher is CommonJS (bin/ms-sign.cjs says why).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...NODE_GLOBALS, require: 'readonly', module: 'writable', __dirname: 'readonly', __filename: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
