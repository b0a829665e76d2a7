// ESLint (flat config): typescript-eslint's recommended rules over the TypeScript and the scripts,
// with `any` an error (the project's rule: no `any`). Formatting is Prettier's (.prettierrc), not ESLint's.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // assembly/ is AssemblyScript: its decorators on functions (@inline) are not TypeScript; asc checks it.
  { ignores: ['dist/', 'node_modules/', 'test-results/', 'experiments/', 'data/', 'assembly/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // A leading underscore marks what is unused on purpose (an interface's argument, a key left out of a rest).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
);
