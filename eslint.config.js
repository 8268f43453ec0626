// Lint rules for every TypeScript package in the workspace; type-aware, so floating promises and unsafe `any`
// flows are caught.
import { existsSync } from "node:fs";
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

// The benchmark's peer servers import packages installed for the benchmark only (npm run bench installs them):
// linted once they are there, since their types come from those packages.
const peersInstalled = existsSync(new URL("bench/peers/node_modules", import.meta.url));

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "proto/gen/**",
      ".cache/**",
      "**/*.js",
      "**/*.cjs",
      "**/*.mjs",
      ...(peersInstalled ? [] : ["bench/peers/**"]),
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unnecessary-condition": ["error", { allowConstantLoopConditions: true }],
      "@typescript-eslint/no-confusing-void-expression": "off",
      "@typescript-eslint/no-unused-vars": ["error", { varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
      // `async` is used on purpose to turn synchronous throws into rejections.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-invalid-void-type": [
        "error",
        { allowInGenericTypeArguments: true, allowAsThisParameter: true },
      ],
    },
  },
  {
    files: ["**/test/**/*.ts", "examples/*/*.test.ts"],
    rules: { "@typescript-eslint/no-floating-promises": "off" },
  },
);
