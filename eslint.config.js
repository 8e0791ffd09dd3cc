// Lint keeps the layers one-way (see ../shared/ARCHITECTURE.md and docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const layer = (target, from, message) => ({ target, from, message });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**/data/**', '**/*.mjs', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='process'][callee.property.name='exit']",
          message: 'Only src/cli may exit the process.',
        },
      ],
      'import-x/no-cycle': ['error', { maxDepth: 8 }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            layer('./src/model', './src/!(model|errors.ts)/**', 'model/ is pure data: it imports nothing but errors.'),
            layer('./src/executor', './src/!(executor|errors.ts)/**', 'An executor never reads CWL or the engine.'),
            layer('./src/engine', './src/executor/!(executor.ts)', 'The engine knows executors only through executor.ts.'),
            layer('./src/engine', './src/cli', 'The engine never imports the CLI.'),
            layer('./src/loader', './src/!(loader|model|errors.ts)/**', 'The loader only builds the model.'),
            layer('./src/expressions', './src/!(expressions|model|errors.ts)/**', 'Expressions depend on the model only.'),
            layer('./src/store', './src/!(store|engine|executor|model|errors.ts)/**', 'The store records events; it runs nothing.'),
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/executor/kubernetes/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@kubernetes/client-node', message: 'Only src/executor/kubernetes imports the Kubernetes client.' }] },
      ],
    },
  },
);
