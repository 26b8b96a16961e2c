/**
 * The process's open-file limit, which is what really caps the clients one router holds (a
 * client is a socket, a socket is a file descriptor). Node raises the soft limit to the hard one
 * as it starts (src/node.cc, PlatformInit), so there is nothing left to raise here: this reads
 * both so the start-up line can say them and warn when `limits.max_connections` cannot be reached.
 */
import { readFileSync } from "node:fs";

export interface FdLimit {
  readonly soft: number | "unlimited";
  readonly hard: number | "unlimited";
}

/** Parses the "Max open files" row of /proc/<pid>/limits (Linux). */
export function parseProcLimits(text: string): FdLimit | undefined {
  const row = text.split("\n").find((l) => l.startsWith("Max open files"));
  const m = row?.match(/^Max open files\s+(\S+)\s+(\S+)/);
  if (!m) return undefined;
  const value = (s: string): number | "unlimited" | undefined =>
    s === "unlimited" ? s : /^\d+$/.test(s) ? Number(s) : undefined;
  const soft = value(m[1]!);
  const hard = value(m[2]!);
  return soft === undefined || hard === undefined ? undefined : { soft, hard };
}

/** The limit as it stands, or undefined where it cannot be read cheaply (not Linux). */
export function openFileLimit(): FdLimit | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return parseProcLimits(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Descriptors a router uses besides client sockets (listen sockets, broker and subgraph links,
 * the event loop's own, log and module files), kept free when comparing with max_connections.
 */
export const FD_RESERVE = 256;

/**
 * The connections the router admits: `limits.max_connections`, or fewer when the open-file limit
 * cannot hold that many plus the reserve. Past the descriptor limit a router cannot even accept
 * to answer 503: uWS's listen socket stays readable, its accept loop spins at ~94% of a core,
 * /health/ready stops answering and every new client hangs (`npm run bench -- ceiling`). Refused
 * with 503 below it, the router holds 19,744 clients under a limit of 20,000 and stays healthy.
 */
export function connectionCap(limit: FdLimit | undefined, maxConnections: number): number {
  if (!limit || limit.soft === "unlimited") return maxConnections;
  return Math.min(maxConnections, Math.max(limit.soft - FD_RESERVE, 1));
}

/** Warns when max_connections cannot be reached under `limit`; undefined when it can. */
export function fdLimitWarning(limit: FdLimit | undefined, maxConnections: number): string | undefined {
  const cap = connectionCap(limit, maxConnections);
  if (cap === maxConnections || !limit) return undefined;
  return `limits.max_connections is ${maxConnections} but the open-file limit is ${limit.soft} (hard ${limit.hard}): connections past ${cap} are refused with 503 so that descriptors never run out; raise the limit (ulimit -n, LimitNOFILE=, docker --ulimit nofile=) to hold more`;
}
