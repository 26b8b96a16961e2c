/**
 * Rules across keys that the JSON Schema cannot say: settings that only make sense together.
 * Each problem names the path to fix.
 */
import { parseDuration } from "./duration.js";
import type { Problem } from "./problems.js";

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Doc) : {});
const list = (v: unknown): Doc[] => (Array.isArray(v) ? v.map(obj) : []);

export function crossFieldProblems(data: unknown): Problem[] {
  const doc = obj(data);
  const problems: Problem[] = [];
  const providers = obj(obj(doc.events).providers);
  const delivery = obj(doc.delivery);
  for (const kind of ["nats", "kafka", "redis"]) {
    list(providers[kind]).forEach((p, i) => {
      if (p.delivery === "at_least_once" && typeof delivery.cursor_secret !== "string") {
        problems.push({
          path: ["events", "providers", kind, i, "delivery"],
          message: "at_least_once needs delivery.cursor_secret (the key that signs cursors)",
        });
      }
    });
  }
  const buffer = obj(delivery.session_buffer);
  if (
    typeof buffer.provider_id === "string" &&
    !list(providers.redis).some((r) => r.id === buffer.provider_id)
  ) {
    problems.push({
      path: ["delivery", "session_buffer", "provider_id"],
      message: `names no redis provider (got ${JSON.stringify(buffer.provider_id)})`,
    });
  }
  problems.push(...sessionBufferTimes(buffer));
  if (obj(doc.authorization).require_authentication === true && obj(doc.authentication).jwt === undefined) {
    problems.push({
      path: ["authorization", "require_authentication"],
      message: "needs authentication.jwt: without it no token could ever be verified",
    });
  }
  return problems;
}

/** Below this a session buffer's ttl or lease cannot work: one Redis round trip may take longer. */
const MIN_BUFFER_MS = 100;

/** The session buffer's ttl and lease: a zero ttl would delete each log as it is written. */
function sessionBufferTimes(buffer: Doc): Problem[] {
  const problems: Problem[] = [];
  for (const key of ["ttl", "lease"]) {
    const raw = buffer[key];
    if (typeof raw !== "string" && typeof raw !== "number") continue;
    let ms: number;
    try {
      ms = parseDuration(raw);
    } catch {
      continue; // the schema reports a malformed duration
    }
    if (ms < MIN_BUFFER_MS) {
      problems.push({
        path: ["delivery", "session_buffer", key],
        message: `must be at least ${MIN_BUFFER_MS}ms`,
      });
    }
  }
  return problems;
}
