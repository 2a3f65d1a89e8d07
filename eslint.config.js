import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // .device/: what scripts/bench-pack.sh (and ../shared/device/pack.sh) make for the device machine
  { ignores: ['dist/', 'native/build/', 'node_modules/', 'coverage/', 'bench/tmp/', '.device/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // tests and benchmarks assert shapes they just produced; a failed assertion is the error report
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
