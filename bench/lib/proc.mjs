/**
 * Child processes of a run: spawn (pinned with taskset when asked), wait for a log line, stop, and
 * nats-server (Debian's package, installed with apt when missing and we are root, as the tests do).
 */
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants, createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

const live = new Set();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});
// Ctrl-C or a kill of the harness: Node's default handling exits without "exit" handlers, which
// would leave the stack and the broker running. (A SIGKILL of the harness still orphans them.)
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    for (const p of live) p.kill("SIGKILL");
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}

export function findOnPath(cmd) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

export function ensureBinary(cmd, pkg) {
  const found = findOnPath(cmd);
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`${cmd} is not on PATH; install it: sudo apt-get install -y ${pkg}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update"], { stdio: "ignore", env });
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", pkg], { stdio: "ignore", env });
  const again = findOnPath(cmd);
  if (!again) throw new Error(`installed ${pkg} but ${cmd} is still missing`);
  return again;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Spawns `cmd args` (under `taskset -c cpus` when cpus is set), resolves once `ready(line)` returns
 * a value for a stdout/stderr line, with that value. Keeps the output tail for error messages.
 * `stdin: "pipe"` is for children driven by commands (the Kafka mock broker).
 */
export function spawnReady(
  cmd,
  args,
  { cpus, env, ready, timeoutMs = 30_000, name = cmd, stdin = "ignore" },
) {
  const argv = cpus ? ["taskset", "-c", cpus, cmd, ...args] : [cmd, ...args];
  const proc = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: [stdin, "pipe", "pipe"],
  });
  live.add(proc);
  // BENCH_LOG_DIR=<dir> keeps each child's whole output (a router's log lines: heap trims, slow
  // clients closed) for reading after a run; otherwise only the tail below is kept.
  if (process.env.BENCH_LOG_DIR) {
    mkdirSync(process.env.BENCH_LOG_DIR, { recursive: true });
    const file = createWriteStream(join(process.env.BENCH_LOG_DIR, `${name.replace(/[^\w.-]+/g, "_")}-${proc.pid}.log`));
    proc.stdout.pipe(file);
    proc.stderr.pipe(file);
  }
  let tail = "";
  let buffer = "";
  const exited = new Promise((r) =>
    proc.once("exit", (code, signal) => {
      live.delete(proc);
      r(code ?? signal);
    }),
  );
  const value = new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (!done) reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${tail}`));
    }, timeoutMs);
    const onData = (chunk) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-8192);
      if (done) return;
      buffer += text;
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
        const v = ready(line);
        if (v !== undefined && v !== null && v !== false) {
          done = true;
          clearTimeout(timer);
          buffer = "";
          resolve(v);
          return;
        }
      }
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("error", reject);
    exited.then((code) => {
      clearTimeout(timer);
      if (!done) reject(new Error(`${name} exited (${code}) before it was ready:\n${tail}`));
    });
  });
  return {
    proc,
    pid: proc.pid,
    value,
    exited,
    tail: () => tail,
    async stop(signal = "SIGTERM", graceMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** The pid to measure: taskset execs the command, so the spawned pid is the command's pid. */
export function measuredPid(child) {
  return child.pid;
}

/**
 * nats-server on a free loopback port, pinned to `cpus`. `jetstream: true` adds `-js` with a fresh
 * file store in a temp folder (removed by stop()); `monitor: true` its HTTP monitoring port
 * (`monitorUrl`: /connz?subs=1 lists each connection's subscriptions).
 */
export async function startNats({ cpus, jetstream = false, monitor = false } = {}) {
  const bin = ensureBinary("nats-server", "nats-server");
  const store = jetstream ? mkdtempSync(join(tmpdir(), "streamgate-bench-js-")) : undefined;
  const removeStore = () => store && rmSync(store, { recursive: true, force: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const monitorPort = monitor ? await freePort() : undefined;
    const args = [
      ...["-a", "127.0.0.1", "-p", String(port)],
      ...(store ? ["-js", "-sd", store] : []),
      ...(monitorPort ? ["-m", String(monitorPort)] : []),
    ];
    const child = spawnReady(bin, args, {
      cpus,
      name: "nats-server",
      ready: (line) => line.includes("Server is ready"),
    });
    try {
      await child.value;
      return {
        url: `nats://127.0.0.1:${port}`,
        port,
        ...(monitorPort ? { monitorUrl: `http://127.0.0.1:${monitorPort}` } : {}),
        pid: child.pid,
        store,
        async stop() {
          const code = await child.stop();
          removeStore();
          return code;
        },
      };
    } catch (err) {
      await child.stop("SIGKILL");
      if (attempt >= 3 || !/address already in use/i.test(String(err))) {
        removeStore();
        throw err;
      }
    }
  }
}
