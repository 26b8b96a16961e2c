#!/usr/bin/env node
/**
 * The demo's employees subgraph as a process of its own: docker/compose.yaml runs it as the
 * `employees` service next to the router. It listens on LISTEN_ADDR (default 127.0.0.1:4001). With
 * NATS_URL set it keeps the names published on employeeUpdated.* as the embedded demo does, the
 * way a real service hears about changes: by subscribing to the broker itself; and it answers
 * getEmployee.<id> requests (the demo's employeeFromEvent query) as the embedded demo's responder.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { splitAddr } from "../config/listen.js";
import { errorMessage } from "../errors.js";
import { createLogger } from "../observability/logger.js";
import { publishedName } from "./embedded.js";
import { DemoEmployees, startDemoSubgraph } from "./entity-subgraph.js";

const logger = createLogger("info");

async function main(): Promise<void> {
  const employees = new DemoEmployees();
  const subgraph = await startDemoSubgraph(employees, splitAddr(process.env.LISTEN_ADDR ?? "127.0.0.1:4001"));
  logger.info({ url: subgraph.url }, "demo employees subgraph listening");
  let nc: NatsConnection | undefined;
  const natsUrl = process.env.NATS_URL;
  if (natsUrl) {
    // Waits for the broker at start and reconnects for ever: compose may start NATS after us.
    nc = await connect({ servers: natsUrl, waitOnFirstConnect: true, maxReconnectAttempts: -1 });
    nc.subscribe("employeeUpdated.*", {
      callback: (err, msg) => {
        if (err) return logger.warn({ err: errorMessage(err) }, "employeeUpdated subscription failed");
        const update = publishedName(msg.data);
        if (update) employees.rename(update.id, update.name);
      },
    });
    nc.subscribe("getEmployee.*", {
      callback: (err, msg) => {
        if (err) return logger.warn({ err: errorMessage(err) }, "getEmployee subscription failed");
        const id = msg.subject.slice("getEmployee.".length);
        msg.respond(JSON.stringify({ __typename: "Employee", id }));
      },
    });
    logger.info({ nats: natsUrl }, "keeping names published on employeeUpdated.*, answering getEmployee.*");
  }
  const stop = (signal: string) => {
    logger.info({ signal }, "stopping");
    void Promise.allSettled([subgraph.close(), nc?.close()]).then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`demo subgraph: ${errorMessage(err)}\n`);
  process.exit(1);
});
