/**
 * Spawns the built router (`node dist/bin/streamgate.js`, the bundle `npm start` runs) the way a user runs it, parses its JSON log lines
 * and finds the port from the "listening" line. `npm test` builds before vitest runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(REPO_ROOT, "dist/bin/streamgate.js");

/**
 * Routers this test worker started and that have not exited. A test that fails before its
 * stop() would leave its router running after the suite; they are killed when the worker exits.
 */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});
function track(p: ChildProcess): void {
  running.add(p);
  p.once("exit", () => running.delete(p));
}

export interface RunningRouter {
  readonly port: number;
  readonly http: string;
  readonly ws: string;
  readonly process: ChildProcess;
  /** Parsed JSON log lines so far. */
  readonly logs: Record<string, unknown>[];
  /** Everything written to stdout and stderr so far, as written. */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Writes files into a fresh temp dir; returns the dir. */
export async function tempFiles(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "streamgate-test-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion (for --help, --check-config, bad configs). */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 15_000,
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    track(p);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      fail(new Error(`CLI did not exit in ${timeoutMs} ms: ${stdout}${stderr}`));
    }, timeoutMs);
    p.on("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Starts the router with `args`; resolves once it logs that it listens. */
export function startRouterProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  /** A command that runs node for us, e.g. `["prlimit", "--nofile=320:320"]` (it must exec node, same pid). */
  launcher: readonly string[] = [],
): Promise<RunningRouter> {
  return new Promise((done, fail) => {
    const argv = [...launcher, process.execPath, CLI, ...args];
    const p = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    track(p);
    const logs: Record<string, unknown>[] = [];
    let buffer = "";
    let stderr = "";
    let all = "";
    let started = false;
    const exited = new Promise<number | null>((r) => p.on("exit", (code) => r(code)));
    const timer = setTimeout(() => fail(new Error(`router did not start: ${stderr}`)), 20_000);
    p.stderr.on("data", (d) => {
      stderr += d;
      all += d;
    });
    p.stdout.on("data", (d: Buffer) => {
      all += d.toString();
      buffer += d.toString();
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
        if (!line.trim()) continue;
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line);
        } catch {
          throw new Error(`router wrote a non-JSON line to stdout: ${line}`);
        }
        logs.push(entry);
        if (!started && typeof entry.port === "number" && String(entry.msg).includes("listening")) {
          started = true;
          clearTimeout(timer);
          const port = entry.port;
          done({
            port,
            http: `http://127.0.0.1:${port}`,
            ws: `ws://127.0.0.1:${port}`,
            process: p,
            logs,
            output: () => all,
            stop: (signal = "SIGTERM") => {
              if (p.exitCode === null) p.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    exited.then((code) => {
      if (!started) {
        clearTimeout(timer);
        fail(new Error(`router exited with ${code} before listening: ${stderr}`));
      }
    });
  });
}

/**
 * A config file for one event-driven subgraph (`events.graphql`) on one NATS provider, plus any
 * `extra` YAML sections (authentication, limits…): what most end-to-end tests start from.
 */
export function natsRouterConfig(natsUrl: string, extra = ""): string {
  return `listen_addr: 127.0.0.1:0
shutdown_grace_period: 2s
subgraphs:
  - name: events
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: default
        url: ${natsUrl}
${extra}`;
}

/** One series' value from a router's /metrics (0 when absent); `labels` as written, e.g. `{kind="x"}`. */
export async function readMetric(http: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}
