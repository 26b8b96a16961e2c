/**
 * The embedded demo (no config) keeps what is published: `updateEmployee` then the subscription
 * shows the name just published, resolved from the demo subgraph through _entities.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Collected, collect, postGraphql, wsClient } from "../helpers/clients.js";
import { type RunningRouter, startRouterProcess } from "../helpers/router.js";

let router: RunningRouter;
beforeAll(async () => {
  router = await startRouterProcess(["--listen-addr", "127.0.0.1:0"]);
});
afterAll(() => router?.stop());

const update = async (id: string, updateInput: string) => {
  const res = await postGraphql(router.http, {
    query: `mutation { updateEmployee(id: "${id}", update: ${updateInput}) { success } }`,
  });
  expect(res.body).toEqual({ data: { updateEmployee: { success: true } } });
};
type Event = { data: { employeeUpdated: { id: string; name: string; role: string } } };
const names = (sub: Collected<Event>) => sub.values.map((v) => v.data.employeeUpdated.name);

describe("the embedded demo keeps published names", () => {
  it("resolves the name just published, per id, and keeps it for later events", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const one = collect<Event>(client, 'subscription { employeeUpdated(id: "1") { id name role } }');
    const two = collect<Event>(client, 'subscription { employeeUpdated(id: "2") { id name } }');
    // The first publishes may race the subscribe; repeat until one arrives.
    await vi.waitFor(
      async () => {
        if (one.values.length === 0) await update("1", '{ name: "Ada" }');
        expect(one.values.length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    expect(one.values[0]).toEqual({
      data: { employeeUpdated: { id: "1", name: "Ada", role: "Rear Admiral" } },
    });
    await update("1", '{ name: "Grace" }');
    await vi.waitFor(() => expect(names(one).at(-1)).toBe("Grace"));
    // An update without a name keeps the last one; another id keeps its own.
    await update("1", "{}");
    await update("2", "{}");
    await vi.waitFor(() => expect(one.values.length).toBeGreaterThanOrEqual(names(one).indexOf("Grace") + 2));
    await vi.waitFor(() => expect(two.values.length).toBe(1));
    expect(names(one).at(-1)).toBe("Grace");
    expect(names(two)).toEqual(["Alan Turing (#2)"]);
    await client.dispose();
  });

  it("cuts a hostile name to 200 characters and goes on serving", async () => {
    const client = wsClient(`${router.ws}/graphql`);
    const sub = collect<Event>(client, 'subscription { employeeUpdated(id: "7") { name } }');
    const long = "x".repeat(100_000);
    await vi.waitFor(
      async () => {
        if (sub.values.length === 0) await update("7", `{ name: "${long}" }`);
        expect(sub.values.length).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 100 },
    );
    expect(names(sub)[0]).toBe("x".repeat(200));
    expect((await fetch(`${router.http}/health/ready`)).status).toBe(200);
    await client.dispose();
  });
});
