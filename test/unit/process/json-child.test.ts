/** One JSON value in, one out, through a short-lived node child (src/process/json-child.ts). */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StreamgateError } from "../../../src/errors.js";
import { runJsonChild } from "../../../src/process/json-child.js";

async function script(body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sg-json-child-"));
  const file = join(dir, "child.mjs");
  await writeFile(file, body);
  return file;
}

const READ_STDIN = `const chunks = []; process.stdin.on("data", (d) => chunks.push(d)); process.stdin.on("end", () => {`;
const failure = (why: string) => new StreamgateError("SG_ERR_CONFIG_READ", `child ${why}`);

describe("runJsonChild", () => {
  it("sends the input and parses the answer", async () => {
    const echo = await script(
      `${READ_STDIN} const x = JSON.parse(Buffer.concat(chunks)); process.stdout.write(JSON.stringify({ got: x })); });`,
    );
    expect(await runJsonChild(echo, { a: [1, "b"] }, failure)).toEqual({ got: { a: [1, "b"] } });
  });

  it("a child that exits non-zero rejects with the caller's error, its code and stderr", async () => {
    const dies = await script(`${READ_STDIN} process.stderr.write("boom"); process.exit(3); });`);
    const err = await runJsonChild(dies, {}, failure).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamgateError);
    expect((err as StreamgateError).code).toBe("SG_ERR_CONFIG_READ");
    expect((err as Error).message).toBe("child exited with 3: boom");
  });

  it("a child that prints no JSON rejects with the caller's error", async () => {
    const garbage = await script(`${READ_STDIN} process.stdout.write("not json"); });`);
    const err = await runJsonChild(garbage, {}, failure).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^child printed no JSON answer: /);
  });

  it("a script that does not exist rejects too", async () => {
    const err = await runJsonChild(join(tmpdir(), "sg-no-such-child.mjs"), {}, failure).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/^child exited with 1: /);
  });
});
