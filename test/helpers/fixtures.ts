/**
 * Schema fixtures. The repo's own (test/fixtures/) run everywhere; the Cosmo demo's subgraph is read
 * from the specification's shared/ folder beside the repo, which a user's clone does not have, so
 * the suites on it are skipped there, saying why.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describe } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/** The repo's own event-driven subgraph with the Cosmo demo's shapes (test/fixtures/README.md). */
export const PARCELS_FIXTURE = resolve(ROOT, "test/fixtures/parcels/events.graphqls");

/** The Cosmo router demo's event-driven subgraph, unchanged (../shared/fixtures/README.md). */
export const COSMO_DEMO_FIXTURE = resolve(ROOT, "../shared/fixtures/cosmo-demo/employeeupdated.graphqls");

/** Why the Cosmo demo suites do not run here; undefined when the fixture exists. */
export const cosmoDemoSkipReason: string | undefined = existsSync(COSMO_DEMO_FIXTURE)
  ? undefined
  : `${COSMO_DEMO_FIXTURE} does not exist (a clone without the specification's shared/ folder beside ` +
    "it); test/fixtures/parcels covers the same shapes";

/** describe() for a suite on the Cosmo demo fixture: skipped with the reason printed where it is absent. */
export function describeCosmoDemo(name: string, suite: () => void): void {
  if (cosmoDemoSkipReason) process.stderr.write(`skipped "${name}": ${cosmoDemoSkipReason}\n`);
  describe.skipIf(cosmoDemoSkipReason !== undefined)(
    cosmoDemoSkipReason ? `${name} (skipped: ${cosmoDemoSkipReason})` : name,
    suite,
  );
}
