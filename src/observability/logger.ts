/**
 * pino JSON lines to stdout: one line per event of interest (contract.md).
 *
 * Lines go through `process.stdout`, not pino's default sonic-boom destination: when stdout is a
 * pipe whose reader has gone (a supervisor that died, `| head`), sonic-boom's flush at exit looped
 * on the failed write and the router never exited after SIGTERM (reproduced with 2000 clients and
 * the parent gone). A broken stdout must cost the logs, not the process.
 */
import { type Logger as PinoLogger, pino } from "pino";
import type { LogLevel } from "../config/types.js";

export type Logger = PinoLogger;

let guarded = false;

export function createLogger(level: LogLevel = "info"): Logger {
  if (!guarded) {
    guarded = true;
    // EPIPE and friends: nobody is reading; dropping the line is all we can do.
    process.stdout.on("error", () => {});
  }
  return pino(
    { level, base: { service: "streamgate" }, timestamp: pino.stdTimeFunctions.isoTime },
    process.stdout,
  );
}
