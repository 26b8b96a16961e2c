import { MemoryProvider } from "../../src/providers/memory/provider.js";
import { randomPrefix } from "./collector.js";
import { runProviderConformance } from "./provider-suite.js";

// The in-process broker has no broker to restart or take down: those cases are skipped.
runProviderConformance("memory (nats matching)", async () => {
  const provider = new MemoryProvider({ id: "mem", kind: "nats" });
  await provider.start();
  const topicPrefix = randomPrefix();
  return {
    provider,
    topicPrefix,
    wildcard: {
      pattern: `${topicPrefix}.*.x.>`,
      matching: [`${topicPrefix}.a.x.1`, `${topicPrefix}.b.x.1.2`],
      nonMatching: [`${topicPrefix}.a.x`, `${topicPrefix}.a.y.1`, `${topicPrefix}.a.b.x.1`],
    },
    cleanup: () => provider.stop(),
  };
});

runProviderConformance("memory (glob matching)", async () => {
  const provider = new MemoryProvider({ id: "mem-redis", kind: "redis" });
  await provider.start();
  const topicPrefix = randomPrefix();
  return {
    provider,
    topicPrefix,
    wildcard: {
      pattern: `${topicPrefix}.[ab]?.*`,
      matching: [`${topicPrefix}.a1.x`, `${topicPrefix}.bz.x.y`],
      nonMatching: [`${topicPrefix}.c1.x`, `${topicPrefix}.a.x`],
    },
    cleanup: () => provider.stop(),
  };
});
