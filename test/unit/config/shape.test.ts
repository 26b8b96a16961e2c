import { describe, expect, it } from "vitest";
import { loadConfigFile } from "../../../src/config/loader.js";
import { StreamgateAggregateError } from "../../../src/errors.js";
import { tempFiles } from "../../helpers/router.js";

// Found by the config fuzz target: these crashed the CLI with "Maximum call stack size exceeded".
describe("config documents that would overflow the stack", () => {
  it.each([
    [
      "a YAML alias that contains itself",
      "c.yaml",
      "listen_addr: 127.0.0.1:0\nx: &x [*x]\n",
      "x[0]: YAML: an alias refers to a value that contains it",
    ],
    [
      "a self-containing mapping",
      "c.yaml",
      "a: &m { b: *m }\n",
      "a.b: YAML: an alias refers to a value that contains it",
    ],
    [
      "JSON nested 20,000 levels",
      "c.json",
      `{"x": ${"[".repeat(20_000)}${"]".repeat(20_000)}}`,
      "nested deeper than 64 levels",
    ],
  ])("%s is refused with the place named", async (_name, file, text, problem) => {
    const dir = await tempFiles({ [file]: text });
    const err = await loadConfigFile(`${dir}/${file}`, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamgateAggregateError);
    expect((err as StreamgateAggregateError).problems).toHaveLength(1);
    expect((err as StreamgateAggregateError).problems[0]).toContain(problem);
  });
});
