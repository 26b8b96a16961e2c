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

/** Warns when max_connections cannot be reached under `limit`; undefined when it can. */
export function fdLimitWarning(limit: FdLimit | undefined, maxConnections: number): string | undefined {
  if (!limit || limit.soft === "unlimited") return undefined;
  const usable = limit.soft - FD_RESERVE;
  if (maxConnections <= usable) return undefined;
  return `limits.max_connections is ${maxConnections} but the open-file limit is ${limit.soft} (hard ${limit.hard}): past about ${Math.max(usable, 0)} clients new connections fail; raise the limit (ulimit -n, LimitNOFILE=, docker --ulimit nofile=) or lower max_connections`;
}
