/**
 * The stack the schema-fixture e2e tests run on: a real nats-server (with in-process responders
 * for the fixture's request/reply subjects), a real HTTP subgraph owning the entity's other
 * fields, and the built router with four provider ids (two NATS, Kafka and Redis on the embedded
 * broker; their real brokers have their own e2e files).
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { expect, vi } from "vitest";
import { type NatsServer, startNats } from "./brokers/nats.js";
import { type Collected, postGraphql } from "./clients.js";
import { type RunningRouter, startRouterProcess, tempFiles } from "./router.js";
import { type RunningSubgraph, startSubgraph } from "./subgraphs.js";

export interface FixtureStackOptions {
  /** Path of the event-driven subgraph's SDL. */
  readonly eventsSchemaFile: string;
  /** SDL and resolvers of the ordinary subgraph. */
  readonly entitySdl: string;
  readonly resolvers: Record<string, unknown>;
  /** NATS request subjects (wildcards) answered with `{__typename, [key]: <last token as Int>}`. */
  readonly responders: readonly { subject: string; typename: string; key: string }[];
  readonly natsIds: readonly string[];
  readonly kafkaId: string;
  readonly redisId: string;
}

export interface FixtureStack {
  readonly nc: NatsConnection;
  readonly router: RunningRouter;
  /** Runs a mutation and expects `success: true`. */
  mutate(query: string): Promise<void>;
  stop(): Promise<void>;
}

const enc = new TextEncoder();

export async function startFixtureStack(o: FixtureStackOptions): Promise<FixtureStack> {
  let nats: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  let subgraph: RunningSubgraph | undefined;
  let router: RunningRouter | undefined;
  const stop = async (): Promise<void> => {
    await router?.stop();
    await subgraph?.stop();
    await nc?.close();
    await nats?.stop();
  };
  try {
    nats = await startNats();
    const conn = await connect({ servers: nats.url });
    nc = conn;
    for (const r of o.responders) {
      conn.subscribe(r.subject, {
        callback: (_e, m) => {
          const id = Number(m.subject.split(".").at(-1));
          m.respond(enc.encode(JSON.stringify({ __typename: r.typename, [r.key]: id })));
        },
      });
    }
    await conn.flush();
    subgraph = await startSubgraph(o.entitySdl, o.resolvers);
    const nat = o.natsIds.map((id) => `      - { id: ${id}, url: "${nats!.url}" }`).join("\n");
    const dir = await tempFiles({
      "entities.graphql": o.entitySdl,
      "c.yaml": `listen_addr: 127.0.0.1:0
subgraphs:
  - { name: entities, routing_url: "${subgraph.url}", schema_file: entities.graphql }
  - { name: events, schema_file: "${o.eventsSchemaFile}" }
events:
  providers:
    nats:
${nat}
    kafka: [{ id: ${o.kafkaId}, brokers: ["memory://"] }]
    redis: [{ id: ${o.redisId}, urls: ["memory://"] }]
`,
    });
    const running = await startRouterProcess(["--config", `${dir}/c.yaml`]);
    router = running;
    return {
      nc: conn,
      router: running,
      mutate: async (query) => {
        const res = await postGraphql(running.http, { query });
        expect(JSON.stringify(res.body)).toContain('"success":true');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Repeats `act` until every subscription holds `n` values (the first events may race the subscribe). */
export async function until(
  subs: readonly Collected[],
  act: () => Promise<void> | void,
  n = 1,
): Promise<void> {
  await vi.waitFor(
    async () => {
      if (subs.every((s) => s.values.length >= n)) return;
      await act();
      throw new Error("waiting");
    },
    { timeout: 8000, interval: 200 },
  );
}
