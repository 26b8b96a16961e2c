/**
 * The router's operational HTTP routes: /metrics, /health/live, /health/ready, the playground and
 * the catch-all 404. GraphQL itself lives in http.ts and websocket.ts.
 */
import { errorMessage } from "../errors.js";
import { readiness } from "../observability/health.js";
import type { Provider } from "../providers/provider.js";
import { Reply, sendErrors } from "./reply.js";
import type { TemplatedApp } from "./uws.js";

export interface OperationalRoutes {
  /** Prometheus text of this router (or of every worker, merged). */
  readonly metrics: () => Promise<string>;
  readonly metricsContentType: string;
  /** Called per request: the providers as they are now (a reload may change them). */
  readonly providers: () => Iterable<Provider>;
  readonly draining: () => boolean;
  /** The body of /health/live (a worker adds its index). */
  readonly liveBody: string;
  /** Mounts the playground's routes (src/demo/playground.ts), when enabled. */
  readonly playground?: (app: TemplatedApp) => void;
}

const JSON_HEADERS = [["content-type", "application/json"]] as const;

export function mountOperationalRoutes(app: TemplatedApp, o: OperationalRoutes): void {
  app.get("/metrics", (res) => {
    const reply = new Reply(res);
    o.metrics().then(
      (text) => reply.send("200 OK", [["content-type", o.metricsContentType]], text),
      (err) => reply.send("503 Service Unavailable", [], `metrics unavailable: ${errorMessage(err)}\n`),
    );
  });
  app.get("/health/live", (res) => {
    new Reply(res).send("200 OK", JSON_HEADERS, o.liveBody);
  });
  app.get("/health/ready", (res) => {
    const r = readiness(true, o.providers(), o.draining());
    new Reply(res).send(r.ready ? "200 OK" : "503 Service Unavailable", JSON_HEADERS, r.body);
  });
  o.playground?.(app);
  app.any("/*", (res) => {
    sendErrors(new Reply(res), "404 Not Found", [{ message: "not found" }]);
  });
}
