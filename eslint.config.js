import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "node:child_process", message: "Only src/dataplane/linux/exec.ts spawns processes." },
            { name: "better-sqlite3", message: "Only src/store/ touches SQLite." },
          ],
        },
      ],
    },
  },
  {
    // The client is bundled into the CNI shim: node built-ins and the error types only.
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
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "node:child_process", message: "Only src/dataplane/linux/exec.ts spawns processes." },
          ],
        },
      ],
    },
  },
);
