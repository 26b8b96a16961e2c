/**
 * `--broker jetstream`: nats-server with `-js` (a file store in a temp folder), one stream the
 * bench creates over every bench subject, and a publisher that counts an event as published only
 * once JetStream acknowledged storing it (a PubAck). Streamgate reads the stream through a field
 * with `streamConfiguration` (lib/brokers.mjs, edfsSdl), so `delivery: at_least_once` on its NATS
 * provider gives cursors and resume (docs/delivery.md).
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startNats } from "./proc.mjs";

/** The stream every JetStream run uses: it holds all `employeeUpdated.<topic>` subjects. */
export const STREAM = { name: "bench", subjects: ["employeeUpdated.>"] };
/** `consumerName` of the bench field; Streamgate names one durable per subject from it. */
export const CONSUMER = "bench";

const enc = new TextEncoder();

/** nats-server with JetStream and the bench stream (file storage, no limits). */
export async function startJetStream({ cpus } = {}) {
  const server = await startNats({ cpus, jetstream: true });
  try {
    const nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: STREAM.name, subjects: STREAM.subjects });
    await nc.close();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { ...server, stream: STREAM.name };
}

/**
 * Publishes to `employeeUpdated.<topic>` through JetStream without waiting for each ack before the
 * next (acks are awaited in flush()). `acked` counts stored events, `errors` refused ones (a run
 * with any refusal has an unknown expected set and fails).
 */
export async function jetstreamPublisher(url) {
  const nc = await connect({ servers: url, noEcho: true });
  const js = jetstream(nc);
  const inflight = new Set();
  const state = { acked: 0, errors: 0, lastError: undefined };
  return {
    kind: "jetstream",
    get acked() {
      return state.acked;
    },
    get errors() {
      return state.errors;
    },
    get lastError() {
      return state.lastError;
    },
    publish(topic, id) {
      const p = js
        .publish(`employeeUpdated.${topic}`, enc.encode(`{"id":${JSON.stringify(id)}}`), { timeout: 30_000 })
        .then(
          () => {
            state.acked++;
          },
          (err) => {
            state.errors++;
            state.lastError = String(err?.message ?? err);
          },
        )
        .finally(() => inflight.delete(p));
      inflight.add(p);
    },
    /** Resolves once every publish so far was acknowledged (or refused). */
    async flush() {
      while (inflight.size > 0) await Promise.all([...inflight]);
    },
    close: async () => {
      await Promise.all([...inflight]);
      await nc.close();
    },
  };
}
