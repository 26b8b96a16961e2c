#!/usr/bin/env node
/**
 * Process entry: options, config, start, signals. Exit codes: 0 ok / clean shutdown, 1 bad config
 * or start failure.
 */
// First: keeps V8's young generation from growing while the other modules load (see there).
import "./observability/hold-young-gen.js";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { loadConfigIsolated } from "./config/load-isolated.js";
import type { Config, LogLevel } from "./config/types.js";
import type { DemoSubgraph } from "./demo/entity-subgraph.js";
import { errorMessage, StreamgateError } from "./errors.js";
import { fdLimitWarning, openFileLimit } from "./observability/fd-limit.js";
import { createLogger } from "./observability/logger.js";
import { releaseYoungGeneration } from "./observability/young-gen.js";
import { installReloadTriggers } from "./reload-trigger.js";

// The router, the demo and the config check are imported where they run, not here: with workers
// this thread is the primary, which serves nothing, and a static import would load graphql, the
// broker clients and the whole engine into it for nothing (~10 MB; profiles/workers.md).

const HELP = `streamgate: event-driven GraphQL subscription router

Usage: streamgate [options]

Options:
  --config <file>      YAML or JSON config (also STREAMGATE_CONFIG). Without one, the embedded
                       demo runs on 127.0.0.1:3002 with the in-process broker.
  --check-config       Validate the config and every schema, print all errors, exit 0 or 1.
  --log-level <level>  trace, debug, info, warn, error, fatal or silent (overrides log_level).
  --listen-addr <h:p>  Overrides listen_addr (port 0 = a free port; the log line says which).
  --help               Show this help.
  --version            Print the version.

Docs: README.md, docs/configuration.md; example: config/streamgate.example.yaml`;

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

async function main(): Promise<number> {
  let values: {
    config?: string;
    "check-config"?: boolean;
    "log-level"?: string;
    "listen-addr"?: string;
    help?: boolean;
    version?: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: "string" },
        "check-config": { type: "boolean" },
        "log-level": { type: "string" },
        "listen-addr": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n\n${HELP}\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write("streamgate 0.1.0\n");
    return 0;
  }
  const level = values["log-level"];
  if (level !== undefined && !LEVELS.includes(level)) {
    process.stderr.write(`--log-level must be one of ${LEVELS.join(", ")}\n`);
    return 1;
  }
  const path = values.config ?? process.env.STREAMGATE_CONFIG;
  const listen = values["listen-addr"];
  // Command-line values replace the file's, at start and at every reload.
  const overrides = listen === undefined ? undefined : { listen_addr: listen };
  let config: Config;
  let demo: DemoSubgraph | undefined;
  try {
    // The file is read in a child process (src/config/load-isolated.ts): yaml and the schema
    // validator never load into the serving process.
    if (path) config = await loadConfigIsolated(path, overrides);
    else {
      demo = await (await import("./demo/entity-subgraph.js")).startDemoSubgraph();
      config = (await import("./demo/embedded.js")).demoConfig(demo.url);
      if (overrides) {
        const { configFromObject, withoutSource } = await import("./config/loader.js");
        config = configFromObject({ ...withoutSource(config), ...overrides }, { env: {} });
      }
    }
    if (values["check-config"]) {
      const [{ checkProviderFiles }, { loadRouterSupergraph }, { loadHookModules }] = await Promise.all([
        import("./providers/files.js"),
        import("./router.js"),
        import("./hooks/load.js"),
      ]);
      // Files and schemas are checked together: every problem in one run.
      const label = config.source ?? "embedded default";
      const files = checkProviderFiles(config.events).map((p) => `${label}: ${p.path}: ${p.message}`);
      const schema = await loadRouterSupergraph(config).then(
        () => undefined,
        (err: unknown) => err,
      );
      // Hook modules are imported and checked, as at start.
      const hooks = await loadHookModules(
        config.modules,
        config.source ? dirname(config.source) : process.cwd(),
      ).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (files.length > 0) {
        process.stderr.write(`${label}: provider TLS or credentials files are unusable\n`);
        process.stderr.write(`${files.map((f) => `  - ${f}`).join("\n")}\n`);
      }
      if (hooks !== undefined) process.stderr.write(`${errorMessage(hooks)}\n`);
      if (schema !== undefined) throw schema;
      if (files.length > 0 || hooks !== undefined) return 1;
      process.stdout.write(`${path ?? "embedded default"}: configuration and schemas are valid\n`);
      return 0;
    }
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    return 1;
  }
  const logger = createLogger((level as LogLevel | undefined) ?? config.log_level);
  const embedded = !path;
  if (!embedded && (await import("./workers/count.js")).workerCount(config.workers) > 1) {
    // This thread becomes the primary; each worker thread runs a router (src/workers). V8 sizes
    // their young generations itself (the guard is a lone router's).
    releaseYoungGeneration();
    return serve(config, overrides, logger, async () => {
      const p = await (await import("./workers/primary.js")).startPrimary(config, logger, level);
      return { ...p, fields: { workers: p.workers } };
    });
  }
  return serve(
    config,
    overrides,
    logger,
    async () => {
      const [{ startRouter }, embeddedDemo] = await Promise.all([
        import("./router.js"),
        demo ? import("./demo/embedded.js") : undefined,
      ]);
      const router = await startRouter(config, {
        logger,
        ...(demo && embeddedDemo
          ? {
              examples: embeddedDemo.DEMO_EXAMPLES,
              onProviders: (p) => embeddedDemo.installDemo(p, demo!.employees, logger),
            }
          : {}),
      });
      return {
        host: router.host,
        port: router.port,
        fields: { embedded },
        stop: () => router.stop().then(() => demo?.close()),
        reload: async (next) => ({ ...(await router.reload(next)) }),
      };
    },
    (url) => {
      if (embedded)
        process.stderr.write(
          `\n  Streamgate demo: open ${url}/ (playground), GraphQL at ${url}${config.graphql_path}\n\n`,
        );
    },
  );
}

interface Serving {
  readonly host: string;
  readonly port: number;
  /** Extra fields of the "listening" log line. */
  readonly fields: Record<string, unknown>;
  stop(): Promise<void>;
  /** Applies a re-read config in place (SIGHUP, watch_config). */
  reload(next: Config): Promise<Record<string, unknown>>;
}

/** Starts, logs where it listens, and stops on SIGTERM/SIGINT within the grace period. */
async function serve(
  config: Config,
  overrides: Record<string, unknown> | undefined,
  logger: ReturnType<typeof createLogger>,
  start: () => Promise<Serving>,
  listening?: (url: string) => void,
): Promise<number> {
  const path = config.source;
  let serving: Serving;
  try {
    serving = await start();
  } catch (err) {
    const code = err instanceof StreamgateError ? err.code : undefined;
    logger.fatal({ code }, errorMessage(err));
    process.stderr.write(`${errorMessage(err)}\n`);
    return 1;
  }
  const url = `http://${serving.host}:${serving.port}`;
  const fdLimit = openFileLimit();
  logger.info(
    {
      url,
      graphql: `${url}${config.graphql_path}`,
      port: serving.port,
      ...serving.fields,
      ...(fdLimit ? { open_files_limit: fdLimit } : {}),
    },
    `streamgate listening on ${url}`,
  );
  const fdWarning = fdLimitWarning(fdLimit, config.limits.max_connections);
  if (fdWarning) logger.warn({ open_files_limit: fdLimit }, fdWarning);
  listening?.(url);
  const stopReloads = installReloadTriggers({
    path,
    config,
    logger,
    ...(overrides ? { overrides } : {}),
    apply: (next) => serving.reload(next),
  });
  return new Promise<number>((resolve) => {
    let signalled = false;
    const shutdown = (signal: string): void => {
      if (signalled) return;
      signalled = true;
      stopReloads();
      logger.info({ signal, grace_ms: config.shutdown_grace_period }, "shutting down");
      // Workers get their own grace period plus a forced close; give the primary that long.
      const force = setTimeout(() => {
        logger.warn("grace period over; exiting");
        resolve(0);
      }, config.shutdown_grace_period + 5000);
      force.unref();
      serving.stop().then(
        () => {
          logger.info("stopped");
          resolve(0);
        },
        (err) => {
          logger.error({ err: errorMessage(err) }, "error while stopping");
          resolve(0);
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`fatal: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
