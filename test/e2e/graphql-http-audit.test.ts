/**
 * The GraphQL-over-HTTP conformance audit of the `graphql-http` package (its `serverAudits`, the
 * suite the spec's authors maintain) against the built router on its embedded demo: every MUST
 * and every SHOULD passes.
 */
import { type AuditResult, serverAudits } from "graphql-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRouter, startRouterProcess, tempFiles } from "../helpers/router.js";

let router: RunningRouter;

beforeAll(async () => {
  const dir = await tempFiles({
    "config.yaml": `listen_addr: 127.0.0.1:0
subgraphs:
  - name: events
    schema: |
      type Subscription { employeeUpdated(id: ID!): Employee! @edfs__natsSubscribe(subjects: ["e.{{ args.id }}"]) }
      type Employee @key(fields: "id", resolvable: false) { id: ID! @external }
events:
  providers:
    nats:
      - id: default
        url: "memory://"
`,
  });
  router = await startRouterProcess(["--config", `${dir}/config.yaml`]);
});

afterAll(async () => {
  expect(await router?.stop()).toBe(0);
});

describe("graphql-http serverAudits", () => {
  const audits = serverAudits({ url: () => `${router.http}/graphql` });
  it("has audits to run", () => {
    expect(audits.length).toBeGreaterThan(50);
  });
  for (const audit of audits) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result: AuditResult = await audit.fn();
      // A failure or a warning carries the reason and the response; show them.
      expect({ status: result.status, reason: "reason" in result ? result.reason : undefined }).toEqual({
        status: "ok",
        reason: undefined,
      });
    });
  }
});
