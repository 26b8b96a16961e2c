/** Child-process entry of compose.ts: services as JSON on stdin, the ComposeResult on stdout. */
import { composeInProcess, type ServiceSdl } from "./compose.js";

const chunks: Buffer[] = [];
process.stdin.on("data", (d: Buffer) => chunks.push(d));
process.stdin.on("end", async () => {
  const services = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ServiceSdl[];
  process.stdout.write(JSON.stringify(await composeInProcess(services)));
});
