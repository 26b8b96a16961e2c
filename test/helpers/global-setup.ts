/**
 * vitest globalSetup: installs the broker binaries the integration tests spawn, once, before any
 * test file runs. Test files run in parallel forks; installing here keeps them from racing apt.
 */
import { ensureBinary } from "./brokers/ensure.js";
import { prepareKafkaMock } from "./brokers/kafka.js";

/** [command, Debian package] for every broker the tests start. */
const BROKERS: readonly (readonly [string, string])[] = [["nats-server", "nats-server"]];

export default async function setup(): Promise<void> {
  for (const [cmd, pkg] of BROKERS) await ensureBinary(cmd, pkg);
  await ensureBinary("redis-server", "redis-server"); // brings redis-cli (redis-tools) along
  await prepareKafkaMock(); // librdkafka-dev + gcc, then compiles the mock Kafka broker once
  await ensureBinary("chromium", "chromium"); // the client's browser test (never a downloaded browser)
}
