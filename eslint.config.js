import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

const noChildProcess = {
  name: "node:child_process",
  message: "Only src/dataplane/linux/exec.ts spawns processes.",
};
const noSqlite = { name: "better-sqlite3", message: "Only src/store/ touches SQLite." };

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".cache/**", "eslint.config.js"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "no-restricted-imports": ["error", { paths: [noChildProcess, noSqlite] }],
    },
  },
  {
    // An import cycle makes load order matter; type-only imports are erased and do not count.
    files: ["src/**", "bin/**"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createNodeResolver({ extensionAlias: { ".js": [".ts", ".js"] } })],
    },
    rules: { "import-x/no-cycle": ["error", { ignoreExternal: true }] },
  },
  {
    // The doors translate their wire to service calls: the kernel and the store are the core's to reach.
    files: ["src/api/**", "src/cli/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [noChildProcess, noSqlite],
          patterns: [
            {
              regex: "(^|/)(dataplane|store)/",
              message: "Doors (src/api, src/cli) reach the kernel and the store only through src/core.",
            },
          ],
        },
      ],
    },
  },
  {
    // The client is bundled into the CNI shim: node built-ins and the error types only (so no dataplane
    // or store either).
    files: ["src/client/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(?!node:|\\.\\./errors\\.js$|\\./)",
              message: "src/client imports only node: built-ins and ../errors.js.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/dataplane/linux/exec.ts", "test/**", "bench/**"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["src/store/**"],
    rules: { "no-restricted-imports": ["error", { paths: [noChildProcess] }] },
  },
);
