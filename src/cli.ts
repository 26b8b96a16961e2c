#!/usr/bin/env node
/**
 * Process entry: options, config, start, signals. Exit codes: 0 ok / clean shutdown, 1 bad config
 * or start failure.
 */
import { parseArgs } from "node:util";
import { configFromObject, loadConfigFile } from "./config/loader.js";
import type { Config, LogLevel } from "./config/types.js";
import { DEMO_EXAMPLES, demoConfig, installDemoResponder } from "./demo/embedded.js";
import { type DemoSubgraph, startDemoSubgraph } from "./demo/entity-subgraph.js";
import { errorMessage, StreamgateError } from "./errors.js";
import { createLogger } from "./observability/logger.js";
import { loadRouterSupergraph, startRouter } from "./router.js";

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

/** A loaded config back as a plain document (durations stay in ms, which the schema accepts). */
function withoutSource(config: Config): Record<string, unknown> {
  const { source: _source, ...rest } = config;
  return rest as Record<string, unknown>;
}

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
  let config: Config;
  let demo: DemoSubgraph | undefined;
  try {
    if (!path) demo = await startDemoSubgraph();
    config = path ? await loadConfigFile(path) : demoConfig(demo!.url);
    const listen = values["listen-addr"];
    if (listen !== undefined)
      config = configFromObject({ ...withoutSource(config), listen_addr: listen }, { env: {} });
    if (values["check-config"]) {
      await loadRouterSupergraph(config);
      process.stdout.write(`${path ?? "embedded default"}: configuration and schemas are valid\n`);
      return 0;
    }
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    return 1;
  }
  const logger = createLogger((level as LogLevel | undefined) ?? config.log_level);
  const embedded = !path;
  let router: Awaited<ReturnType<typeof startRouter>>;
  try {
    router = await startRouter(config, {
      logger,
      ...(embedded ? { examples: DEMO_EXAMPLES, onProviders: installDemoResponder } : {}),
    });
  } catch (err) {
    const code = err instanceof StreamgateError ? err.code : undefined;
    logger.fatal({ code }, errorMessage(err));
    process.stderr.write(`${errorMessage(err)}\n`);
    return 1;
  }
  const url = `http://${router.host}:${router.port}`;
  logger.info(
    { url, graphql: `${url}${config.graphql_path}`, port: router.port, embedded },
    `streamgate listening on ${url}`,
  );
  if (embedded)
    process.stderr.write(
      `\n  Streamgate demo: open ${url}/ (playground), GraphQL at ${url}${config.graphql_path}\n\n`,
    );

  return new Promise<number>((resolve) => {
    let signalled = false;
    const shutdown = (signal: string): void => {
      if (signalled) return;
      signalled = true;
      logger.info({ signal, grace_ms: config.shutdown_grace_period }, "shutting down");
      const force = setTimeout(() => {
        logger.warn("grace period over; exiting");
        resolve(0);
      }, config.shutdown_grace_period + 1000);
      force.unref();
      router
        .stop()
        .then(() => demo?.close())
        .then(
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
