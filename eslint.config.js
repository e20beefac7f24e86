import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

const noChildProcess = {
  name: "node:child_process",
  message: "Only src/dataplane/linux/exec.ts and spawner.ts spawn processes.",
};
const noSqlite = { name: "better-sqlite3", message: "Only src/store/ touches SQLite." };
/** The API's schema modules, relative to src/cli and src/client: their static types describe its JSON. */
const schemaModules =
  "\\.\\./(api/rest/(wire|load-balancers|info|globals|events|trace)|policies/[a-z-]+)\\.js$";
const schemaTypesOnly = {
  regex: `^${schemaModules}`,
  allowTypeImports: true,
  message:
    "Only the types of the API's schemas (import type): the CLI and the client load none of the server.",
};

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
      // `import { type X }` still loads the module (verbatimModuleSyntax keeps `import {} from`); `import type` does not.
      "@typescript-eslint/no-import-type-side-effects": "error",
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
    files: ["src/api/**"],
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
    // The CLI talks to hostnetd through src/client and loads none of the server: of the API's schema modules
    // it takes the types only, which the compiler erases.
    files: ["src/cli/**"],
    rules: {
      "no-restricted-imports": "off",
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [noChildProcess, noSqlite],
          patterns: [
            {
              regex:
                "^\\.\\./(core|dataplane|store|ipam|modes|cluster)/|^\\.\\./api/(?!rest/(wire|load-balancers|info|events|trace)\\.js$)",
              message: "The CLI reaches hostnetd only through src/client.",
            },
            schemaTypesOnly,
          ],
        },
      ],
    },
  },
  {
    // The client is the CLI's way to hostnetd: node built-ins, the error types, and the types of the API's
    // schemas (no dataplane or store either).
    files: ["src/client/**"],
    rules: {
      "no-restricted-imports": "off",
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: `^(?!node:|\\.\\./errors\\.js$|\\./|${schemaModules})`,
              message: "src/client imports only node: built-ins, ../errors.js and the API's schema types.",
            },
            schemaTypesOnly,
          ],
        },
      ],
    },
  },
  {
    // `hostnet ui` and its page read hostnetd through its API, as the CLI does: of the server they take only
    // the types of the API's schemas, which the compiler erases (the page's bundle has none of the server).
    files: ["src/ui/**"],
    rules: {
      "no-restricted-imports": "off",
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [noChildProcess, noSqlite],
          patterns: [
            {
              regex:
                "^(\\.\\./)+(core|dataplane|store|ipam|modes|cluster|policies|config|metrics|dns|events|cli)/",
              message: "The page and its server reach hostnetd only through its API.",
            },
            {
              regex: "^(\\.\\./)+api/",
              allowTypeImports: true,
              message:
                "Only the types of the API's schemas (import type): the page loads none of the server.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/dataplane/linux/exec.ts", "src/dataplane/linux/spawner.ts", "test/**", "bench/**"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["src/store/**"],
    rules: { "no-restricted-imports": ["error", { paths: [noChildProcess] }] },
  },
);
