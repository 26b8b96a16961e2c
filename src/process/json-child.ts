/**
 * Work done once at start or reload runs in a short-lived node child so that its modules and
 * garbage leave with the process (composition, reading the config file). The protocol is one JSON
 * value on stdin and one on stdout.
 */
import { spawn } from "node:child_process";
import { errorMessage } from "../errors.js";

/**
 * Runs `node <script>`, writes `input` as JSON to its stdin and resolves with its stdout parsed as
 * JSON. A child that cannot start, exits non-zero or prints something else rejects with
 * `failure(why)` (the caller's typed error; `why` carries the exit code and the start of stderr).
 */
export function runJsonChild<T>(script: string, input: unknown, failure: (why: string) => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => reject(failure(errorMessage(e))));
    child.on("exit", (code) => {
      if (code !== 0)
        return reject(failure(`exited with ${code}: ${Buffer.concat(err).toString().slice(0, 2000)}`));
      try {
        resolve(JSON.parse(Buffer.concat(out).toString("utf8")) as T);
      } catch (e) {
        reject(failure(`printed no JSON answer: ${errorMessage(e)}`));
      }
    });
    child.stdin.end(JSON.stringify(input));
  });
}
