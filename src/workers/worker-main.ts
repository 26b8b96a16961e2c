/**
 * Entry of one worker thread: a whole router (its own uWS app on the shared port, providers,
 * engine) plus the cluster link to its peers. The primary starts, wires and supervises it.
 *
 * A worker must close its uWS sockets before its thread ends: Node aborts the whole process when
 * a thread exits with native handles open. So an uncaught error here closes every socket first
 * and then ends the thread with code 1; the primary restarts it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { trustedConfig } from "../config/frozen.js";
import type { LogLevel } from "../config/types.js";
import { ErrorCode, errorMessage, StreamgateError } from "../errors.js";
import { type ComposeResult, composeThrough } from "../schema/compose.js";
import { createLogger } from "../observability/logger.js";
import { type Router, startRouter } from "../router.js";
import { ClusterLink } from "./cluster.js";
import type { ToPrimary, ToWorker, WorkerData } from "./messages.js";

const port = parentPort!;
const data = workerData as WorkerData;
// Validated by the primary: a worker never loads the config validator (src/config/frozen.ts).
const config = trustedConfig(data.config);
const logger = createLogger((data.logLevel as LogLevel | undefined) ?? config.log_level).child({
  worker: data.index,
});
const post = (m: ToPrimary): void => port.postMessage(m);
const cluster = new ClusterLink(data.index, { postMessage: post }, logger);
let router: Router | undefined;
let exiting = false;

// Compositions go through the primary: one child process for all workers, not one each.
const composing = new Map<number, { resolve: (r: ComposeResult) => void; reject: (e: Error) => void }>();
let composeSeq = 0;
composeThrough(
  (services) =>
    new Promise((resolve, reject) => {
      const id = ++composeSeq;
      composing.set(id, { resolve, reject });
      post({ t: "compose", id, services });
    }),
);

/** Closes every native handle, then lets the thread end with `code`. */
function exitNow(code: number): void {
  if (exiting) return;
  exiting = true;
  try {
    router?.closeNow();
  } catch (err) {
    logger.error({ err: errorMessage(err) }, "closing sockets failed");
  }
  cluster.close();
  // Socket closes complete on the next loop turns; then the thread may end.
  setTimeout(() => {
    port.close();
    process.exit(code);
  }, 50);
}

process.on("uncaughtException", (err) => {
  logger.fatal({ err: errorMessage(err), stack: (err as Error).stack }, "worker crashed");
  exitNow(1);
});
process.on("unhandledRejection", (err) => {
  logger.fatal({ err: errorMessage(err) }, "worker crashed (unhandled rejection)");
  exitNow(1);
});

port.on("message", (m: ToWorker) => {
  switch (m.t) {
    case "peer":
      cluster.addPeer(m.index, m.port);
      return;
    case "peer-gone":
      cluster.removePeer(m.index);
      return;
    case "metrics-collect":
      if (!router) return post({ t: "metrics-json", id: m.id, json: [] });
      router.metricsJson().then(
        (json) => post({ t: "metrics-json", id: m.id, json }),
        () => post({ t: "metrics-json", id: m.id, json: [] }),
      );
      return;
    case "metrics-text":
      cluster.onMetricsText(m.id, m.text);
      return;
    case "shutdown":
      if (!router) return exitNow(0);
      router.stop().then(
        () => {
          post({ t: "stopped" });
          exitNow(0);
        },
        (err) => {
          logger.error({ err: errorMessage(err) }, "error while stopping");
          exitNow(0);
        },
      );
      return;
    case "close-now":
      exitNow(0);
      return;
    case "composed": {
      const wait = composing.get(m.id);
      composing.delete(m.id);
      if (m.result) wait?.resolve(m.result);
      else wait?.reject(new StreamgateError(ErrorCode.SCHEMA_COMPOSITION, m.error ?? "composition failed"));
      return;
    }
    case "reload": {
      const id = m.id;
      if (!router) return post({ t: "reloaded", id, error: "not started" });
      const next = trustedConfig(m.config);
      router.reload(next).then(
        (outcome) => post({ t: "reloaded", id, outcome }),
        (err) => post({ t: "reloaded", id, error: errorMessage(err) }),
      );
      return;
    }
  }
});

startRouter(config, { logger, cluster, connections: { table: data.connections, region: data.index } }).then(
  (r) => {
    router = r;
    if (exiting) return exitNow(0);
    post({ t: "ready", port: r.port });
  },
  (err) => {
    post({ t: "start-failed", message: errorMessage(err) });
    exitNow(1);
  },
);
