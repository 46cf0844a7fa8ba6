// Lint rules that keep the architecture as README's "Architecture" section
// draws it: layers import only downwards, and nothing imports in a circle.
//
//   action/                      top: inputs, outputs, main/post, summary
//   builder/  envd/              which builder; envd's CLI and gateway
//   buildkit/                    our BuildKit client (channel, control, solve)
//   session/  registry/          what the daemon calls back into; the registry client
//   credentials/                 registry logins: docker config, credential helpers
//   protocol/  github/  common/  bottom: codecs, the runner protocol, helpers
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** For each layer, the layers above it, which it must never import. */
const above = {
  github: ['action', 'builder', 'envd', 'buildkit', 'session', 'registry', 'credentials', 'protocol'],
  common: ['action', 'builder', 'envd', 'buildkit', 'session', 'registry', 'credentials', 'protocol', 'github'],
  protocol: ['action', 'builder', 'envd', 'buildkit', 'session', 'registry', 'credentials'],
  credentials: ['action', 'builder', 'envd', 'buildkit', 'session', 'registry'],
  registry: ['action', 'builder', 'envd', 'buildkit', 'session'],
  session: ['action', 'builder', 'envd', 'buildkit', 'registry'],
  buildkit: ['action', 'builder', 'envd'],
  builder: ['action', 'envd'],
  envd: ['action', 'builder'],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'src/protocol/codecs.generated.ts'] },
  {
    files: ['src/**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { ecmaVersion: 2022, sourceType: 'module' } },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver': { typescript: { project: './tsconfig.json' } },
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: Object.entries(above).map(([layer, forbidden]) => ({
            target: `./src/${layer}`,
            from: forbidden.map((f) => `./src/${f}`),
            message: `src/${layer}/ is below these layers and must not import from them (see eslint.config.js)`,
          })),
        },
      ],
    },
  },
);
