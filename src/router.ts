/**
 * The router's lifecycle: schema → providers → engine → uWS app → listen; and the reverse on
 * stop, draining clients within the grace period.
 */
import { hostname } from "node:os";
import { isMainThread } from "node:worker_threads";
import { splitAddr } from "./config/listen.js";
import type { Config } from "./config/types.js";
import { mountPlayground, type PlaygroundExamples } from "./demo/playground.js";
import { Engine } from "./engine/engine.js";
import { ErrorCode, StreamgateError } from "./errors.js";
import { connectionCap, openFileLimit } from "./observability/fd-limit.js";
import { startHeapTrim, type TrimReport, trimHeapNow } from "./observability/heap-trim.js";
import { startYoungGenGuard, type YoungGenGuard } from "./observability/young-gen.js";
import { createMetrics } from "./observability/metrics.js";
import type { Logger } from "./observability/logger.js";
import { createProviders, type ManagedProvider } from "./providers/factory.js";
import { type ConnectionTable, ConnectionLimiter, createConnectionTable } from "./security/connections.js";
import { LimitCounter } from "./security/limits.js";
import { mountGraphqlHttp } from "./transport/http.js";
import { type TemplatedApp, type us_listen_socket, uws } from "./transport/uws.js";
import { mountWebSocket, type WebSocketHandle } from "./transport/websocket.js";
import { Delivery } from "./delivery/service.js";
import { type ReloadOutcome, reloadRouter } from "./reload.js";
import { loadHooks } from "./hooks/setup.js";
import { createTracing } from "./telemetry/tracing.js";
import { headerCapture } from "./transport/headers.js";
import { Security } from "./security/security.js";
import { loadRouterSupergraph, startProviders } from "./startup.js";

export { loadRouterSupergraph, providerKinds } from "./startup.js";
import { mountOperationalRoutes } from "./transport/routes.js";
import type { ClusterLink } from "./workers/cluster.js";
import { joinCluster, mountFaultInjection } from "./workers/join.js";

export type { PlaygroundExamples };

export interface RouterOptions {
  readonly logger: Logger;
  /** Example operations preloaded in the playground. */
  readonly examples?: PlaygroundExamples;
  /** Called with the providers once created (the embedded demo registers its responder). */
  readonly onProviders?: (providers: ReadonlyMap<string, ManagedProvider>) => void;
  /** Set when this router is one worker thread of several (src/workers). */
  readonly cluster?: ClusterLink;
  /** The process's shared connection counts and this thread's region (worker threads). */
  readonly connections?: { readonly table: ConnectionTable; readonly region: number };
}

export interface Router {
  readonly host: string;
  readonly port: number;
  readonly engine: Engine;
  readonly providers: ReadonlyMap<string, ManagedProvider>;
  readonly websocket: WebSocketHandle;
  /** Stops accepting, completes every client operation, drains, stops providers. */
  stop(): Promise<void>;
  /** Closes the listen socket and every connection at once (a worker that must exit now). */
  closeNow(): void;
  /** This router's metrics as prom-client JSON (the primary merges those of every worker). */
  metricsJson(): Promise<unknown>;
  /**
   * Applies a new config in place (src/reload.ts); one at a time. Rejects, changing nothing,
   * when its schemas or new providers do not load.
   */
  reload(next: Config): Promise<ReloadOutcome>;
}

export async function startRouter(config: Config, options: RouterOptions): Promise<Router> {
  // From the very start, so composition and planning do not grow V8's young generation either.
  // A lone router only: with worker threads V8's flag is the process's, and no single worker's
  // deliveries say whether the others need a larger one, so V8 keeps its own sizing there.
  const youngGen = isMainThread ? startYoungGenGuard() : undefined;
  try {
    return await start(config, options, youngGen);
  } catch (err) {
    youngGen?.stop();
    throw err;
  }
}

async function start(
  config: Config,
  options: RouterOptions,
  youngGen: YoungGenGuard | undefined,
): Promise<Router> {
  const { logger, cluster } = options;
  // First: a config it refuses (require_authentication without jwt) fails before anything starts.
  const security = await Security.create(config);
  const delivery = new Delivery(config, logger);
  // Before any broker connects: a module that does not load stops the start.
  const hooks = await loadHooks(config, logger);
  // Off (undefined): no OpenTelemetry module is loaded at all.
  const tracing = await createTracing(config.telemetry);
  const propagateTrace = config.telemetry.tracing.propagation.trace_context;
  const supergraph = await loadRouterSupergraph(config);
  for (const d of supergraph.dropped) logger.warn({ problem: d }, "field dropped: unknown provider");
  const providers = await createProviders(config.events, config.instance_id ?? hostname(), {
    delivery: config.delivery,
    logger,
  });
  options.onProviders?.(providers);
  await startProviders(config, providers, logger);
  const limitCounter = new LimitCounter();
  const { table, region } = options.connections ?? { table: createConnectionTable(1), region: 0 };
  const admission = {
    counter: limitCounter,
    limiter: new ConnectionLimiter(
      table,
      region,
      // Never more than the open-file limit can hold (src/observability/fd-limit.ts).
      connectionCap(openFileLimit(), config.limits.max_connections),
      config.limits.max_connections_per_ip,
    ),
  };
  // The metrics read the engine's and the sockets' snapshots at scrape time only.
  const metrics = createMetrics({
    engine: () => engine.stats(),
    providers,
    ws: () => websocket.stats,
    security: security.stats,
    delivery: delivery.stats,
    limits: () => limitCounter.snapshot(),
    ...(hooks ? { hooks: () => hooks.stats() } : {}),
  });
  const engine = new Engine(
    supergraph,
    providers,
    {
      requestTimeoutMs: config.request_timeout,
      subgraphTimeoutMs: config.subgraph_timeout,
      maxDocumentSize: config.limits.max_message_size,
      maxTopics: config.limits.max_topics_per_subscription,
      operationLimits: {
        maxDepth: config.limits.max_operation_depth,
        maxAliases: config.limits.max_operation_aliases,
        maxRootFields: config.limits.max_operation_root_fields,
      },
      limitCounter,
      observeLatency: (seconds) => metrics.deliveryLatency.observe(seconds),
      security,
      delivery,
      ...(hooks ? { hooks } : {}),
      ...(tracing ? { tracing, propagateTrace } : {}),
      ...(cluster ? { ownership: cluster } : {}),
    },
    logger,
  );
  if (cluster) joinCluster(cluster, engine, providers, engine.fanoutCounters);
  security.start();

  const app: TemplatedApp = uws.App();
  // Request headers are kept per connection only for hooks that are given a request context.
  const captureHeaders = {
    ...(hooks?.needsRequest ? { captureHeaders: headerCapture(config.hooks.headers) } : {}),
    ...(tracing && propagateTrace ? { captureTrace: true } : {}),
  };
  const websocket = mountWebSocket(app, {
    config,
    engine,
    logger,
    security,
    admission,
    ...captureHeaders,
    ...(hooks?.needsRequest ? { keepConnectionParams: true } : {}),
  });
  const httpStreams = mountGraphqlHttp(app, {
    config,
    engine,
    security,
    admission,
    ...captureHeaders,
    limits: { budget: websocket.budget, policy: websocket.policy },
  });
  let draining = false;
  if (cluster) mountFaultInjection(app, cluster);
  mountOperationalRoutes(app, {
    // With workers, whichever worker took the scrape answers for all of them.
    metrics: () => (cluster ? cluster.metrics() : metrics.registry.metrics()),
    metricsContentType: metrics.registry.contentType,
    providers: () => providers.values(),
    draining: () => draining,
    liveBody: cluster ? `{"status":"live","worker":${cluster.self}}` : '{"status":"live"}',
    ...(config.playground
      ? { playground: (a: TemplatedApp) => mountPlayground(a, config.graphql_path, options.examples) }
      : {}),
  });

  const { host, port } = splitAddr(config.listen_addr);
  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(host, port, (s) => {
      if (s) resolve(s);
      else
        reject(
          new StreamgateError(
            ErrorCode.LISTEN_FAILED,
            `cannot listen on ${config.listen_addr} (in use or not permitted)`,
          ),
        );
    });
  }).catch(async (err) => {
    await Promise.all([...providers.values()].map((p) => p.stop().catch(() => {})));
    throw err;
  });
  const boundPort = uws.us_socket_local_port(listenSocket);
  let trims = 0;
  const logTrim =
    (why: () => string) =>
    (r: TrimReport): void =>
      logger.info(
        { rss_before_mb: r.rssBeforeMb, rss_after_mb: r.rssAfterMb, gc_ms: r.ms },
        `heap trimmed ${why()}`,
      );
  // An event flow grows V8's new space (the guard allows it); when the flow has ended, give it back.
  youngGen?.watch(
    () => engine.fanoutCounters.deliveries,
    () => trimHeapNow(logTrim(() => "after an event flow")),
  );
  const stopHeapTrim = startHeapTrim(
    () => websocket.stats.connections,
    logTrim(() => (trims++ === 0 ? "after start-up" : "after a connection burst")),
    { atStart: true },
  );

  // Stops accepting, once: a worker that exits after stop() calls closeNow() too, and closing a
  // uWS listen socket twice is a use-after-free.
  let listening = true;
  const stopListening = (): void => {
    draining = true;
    if (!listening) return;
    listening = false;
    uws.us_listen_socket_close(listenSocket);
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopHeapTrim();
      youngGen?.stop();
      security.stop();
      websocket.close();
      stopListening();
      for (const s of [...websocket.sessions]) s.goAway();
      for (const s of [...httpStreams]) s.goAway();
      const deadline = Date.now() + config.shutdown_grace_period;
      while (websocket.stats.connections > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      // Closes every remaining socket (those that ignored 1001); typed in later uWS releases only.
      (app as unknown as { close?: () => void }).close?.();
      cluster?.close();
      await Promise.all([...providers.values()].map((p) => p.stop().catch(() => {})));
      await engine.subgraphs.close();
      await tracing?.shutdown().catch(() => undefined);
    })();
    return stopping;
  };
  const closeNow = (): void => {
    stopHeapTrim();
    security.stop();
    stopListening();
    (app as unknown as { close?: () => void }).close?.();
  };
  const metricsJson = (): Promise<unknown> => metrics.registry.getMetricsAsJSON();
  let current = config;
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (next: Config): Promise<ReloadOutcome> => {
    const run = reloading.then(async () => {
      const target = { engine, providers, delivery, logger, instanceId: config.instance_id ?? hostname() };
      const outcome = await reloadRouter(target, current, next);
      current = next;
      return outcome;
    });
    reloading = run.catch(() => undefined);
    return run;
  };
  return { host, port: boundPort, engine, providers, websocket, stop, closeNow, metricsJson, reload };
}
