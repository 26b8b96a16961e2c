/**
 * Child-process entry of load-isolated.ts: a LoadRequest as JSON on stdin, a LoadAnswer on stdout.
 * It runs with the parent's environment, so `${VAR}` interpolation sees the same variables.
 */
import { answerLoad } from "./load-answer.js";
import type { LoadRequest } from "./load-isolated.js";

const chunks: Buffer[] = [];
process.stdin.on("data", (d: Buffer) => chunks.push(d));
process.stdin.on("end", async () => {
  const req = JSON.parse(Buffer.concat(chunks).toString("utf8")) as LoadRequest;
  process.stdout.write(JSON.stringify(await answerLoad(req)));
});
