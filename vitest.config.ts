import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql@16 ships ESM and CJS builds; Node (and graphql-jit) load the CJS one. Vite would pick
    // the ESM build for our sources, giving two graphql realms ("Cannot use GraphQLScalarType from
    // another module"), so pin the same file Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // Integration and e2e tests spawn brokers and routers on free ports; two forks keep a
    // 2-core machine responsive without serialising the whole suite.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    globalSetup: ["test/helpers/global-setup.ts"],
  },
});
