/**
 * A worker's router joins its peers: embedded (memory://) brokers relay their publishes to every
 * worker, and the link serves other workers' forwarded groups through this engine. With
 * STREAMGATE_FAULT_INJECTION=1 (tests only) a route crashes the worker on demand.
 */
import { ErrorCode, StreamgateError } from "../errors.js";
import type { LocalExecutor } from "../engine/types.js";
import { MemoryProvider } from "../providers/memory/provider.js";
import type { Provider } from "../providers/provider.js";
import { Reply } from "../transport/reply.js";
import type { TemplatedApp } from "../transport/uws.js";
import type { ClusterLink, RelayedProvider } from "./cluster.js";

export function joinCluster(
  cluster: ClusterLink,
  executor: LocalExecutor,
  providers: ReadonlyMap<string, Provider>,
  counters: { deliveries: number },
): void {
  const relayed = new Map<string, RelayedProvider>();
  for (const p of providers.values()) {
    if (!(p instanceof MemoryProvider)) continue;
    p.relay = (topic, data, options) => cluster.relay(p.id, topic, data, options);
    relayed.set(p.id, p);
  }
  cluster.attach(executor, relayed, counters);
}

/**
 * Test-only (off unless the variable is set): crash this worker thread to exercise the primary's
 * restart and the cluster's re-routing (test/e2e/workers.test.ts).
 */
export function mountFaultInjection(app: TemplatedApp, cluster: ClusterLink): void {
  if (process.env.STREAMGATE_FAULT_INJECTION !== "1") return;
  app.post("/__fault/crash-worker", (res) => {
    new Reply(res).send("200 OK", [], `{"worker":${cluster.self}}`);
    setTimeout(() => {
      throw new StreamgateError(ErrorCode.INTERNAL, "injected fault: worker crash");
    }, 10);
  });
}
