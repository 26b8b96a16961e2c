/**
 * Shared set-up of the lossless-resume tests: a real nats-server with JetStream, a stream, the
 * built router with an at-least-once provider (cursors), and a publisher numbering events.
 */
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type NatsServer, startNats } from "./brokers/nats.js";
import { type RestartableRouter, startRestartableRouter } from "./client-router.js";

export interface ResumeRig {
  readonly router: RestartableRouter;
  readonly nats: NatsServer;
  readonly js: JetStreamClient;
  /** Publishes `employeeUpdated.<id>` to the stream and waits for JetStream's ack. */
  publish(id: string): Promise<void>;
  close(): Promise<void>;
}

export async function startResumeRig(): Promise<ResumeRig> {
  const nats = await startNats({ jetstream: true });
  const nc: NatsConnection = await connect({ servers: nats.url });
  await (await jetstreamManager(nc)).streams.add({ name: "employees", subjects: ["employeeUpdated.>"] });
  const js = jetstream(nc);
  const router = await startRestartableRouter(
    `    nats:\n      - id: default\n        url: ${nats.url}\n        delivery: at_least_once\n`,
    "delivery:\n  cursor_secret: test-cursor-secret-0123456789abcdefghij\n",
  );
  const enc = new TextEncoder();
  return {
    router,
    nats,
    js,
    publish: async (id) => {
      await js.publish(`employeeUpdated.${id}`, enc.encode(JSON.stringify({ __typename: "Employee", id })));
    },
    async close() {
      await router.stop();
      await nc.close();
      await nats.stop();
    },
  };
}

/** The numbered events 1..n, published every `everyMs` while `during` runs (kills, restarts). */
export async function publishNumbered(
  rig: ResumeRig,
  n: number,
  everyMs: number,
  during: (published: () => number) => Promise<void>,
): Promise<void> {
  let published = 0;
  const publishing = (async () => {
    for (let i = 1; i <= n; i++) {
      await rig.publish(String(i));
      published = i;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  await during(() => published);
  await publishing;
}

/** 1..n as strings. */
export const numbers = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i + 1));
