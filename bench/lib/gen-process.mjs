/**
 * One load-generator process of a fleet (lib/gen-fleet.mjs): a Generator (worker threads, raw
 * sockets) in its own process, so that its sockets count against its own open-file limit (20,000
 * here) and not the harness's. Driven over the IPC channel of `fork`: {reqId, op, args} in,
 * {reqId, ok, result|error} out. Options come as JSON in argv[2].
 */
import { Generator } from "./generator.mjs";

const options = JSON.parse(process.argv[2] ?? "{}");
const gen = new Generator(options);

const ops = {
  connect: (args) => gen.connect(args),
  status: () => gen.status(),
  count: () => gen.count(),
  stats: ({ expected }) => gen.stats(expected, { raw: true }),
  async close() {
    await gen.close();
    return {};
  },
};

process.on("message", async ({ reqId, op, args = {} }) => {
  try {
    // Any other op (reset, resetWarm, closeSome, closeAll) goes to every worker thread as is.
    const result = ops[op] ? await ops[op](args) : await gen.all(op, args);
    process.send({ reqId, ok: true, result });
  } catch (err) {
    process.send({ reqId, ok: false, error: String(err?.stack ?? err) });
  }
});
// The parent's IPC channel closing means the harness is gone: do not outlive it.
process.on("disconnect", () => process.exit(0));
process.send({ ready: true });
