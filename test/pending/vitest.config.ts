// Runs only the pending tests: `npx vitest run --config test/pending/vitest.config.ts` (after `npm run build`).
import { defineConfig } from "vitest/config";
import base from "../../vitest.config.js";

// Arrays would be concatenated by mergeConfig: set include/exclude outright.
export default defineConfig({
  ...base,
  test: { ...base.test, include: ["test/pending/**/*.test.ts"], exclude: ["**/node_modules/**"] },
});
