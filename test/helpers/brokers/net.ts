/** Loopback port helpers shared by the broker harnesses. */
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";

/**
 * A port free right now, picked below the kernel's ephemeral range. A broker a test kills and
 * restarts on the same port leaves it unbound meanwhile: a port from bind(0) is in the ephemeral
 * range, where any outgoing connection of a test running beside it (or another bind(0)) may take
 * it, and the restarted broker then fails to bind or, worse, the router reconnects to something
 * else (seen: a JetStream restart test receiving another test's events).
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low !== undefined && low > 11_000) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
      if (await canBind(port)) return port;
    }
  }
  return bindZero();
}

/** The first port of the kernel's ephemeral range (Linux), if it can be read. */
function ephemeralLow(): number | undefined {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

function bindZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not read the bound port"))));
    });
  });
}

/** Resolves once a TCP connection to 127.0.0.1:port succeeds; polls until `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await canConnect(port)) return;
    if (Date.now() > deadline)
      throw new Error(`127.0.0.1:${port} accepts no connection after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
