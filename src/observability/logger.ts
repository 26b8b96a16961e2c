/** pino JSON lines to stdout: one line per event of interest (contract.md). */
import { type Logger as PinoLogger, pino } from "pino";
import type { LogLevel } from "../config/types.js";

export type Logger = PinoLogger;

export function createLogger(level: LogLevel = "info"): Logger {
  return pino({ level, base: { service: "streamgate" }, timestamp: pino.stdTimeFunctions.isoTime });
}
