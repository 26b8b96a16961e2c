/** Loading hook modules: every problem named with its file, all of them at once. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ErrorCode, StreamgateAggregateError } from "../../../src/errors.js";
import { checkHookModule, definedHooks, loadHookModules } from "../../../src/hooks/load.js";
import { tempFiles } from "../../helpers/router.js";

describe("checkHookModule", () => {
  it("accepts an object of known hooks; onDeliver as a function or { scope, groupBy, handler }", () => {
    const handler = () => undefined;
    const fn = checkHookModule({ onSubscriptionCreate: handler, onDeliver: handler });
    expect(fn.problems).toEqual([]);
    expect(fn.hooks.onDeliver).toEqual({ scope: "group", groupBy: undefined, handler });
    const obj = checkHookModule({ onDeliver: { scope: "subscriber", handler } });
    expect(obj.hooks.onDeliver).toEqual({ scope: "subscriber", groupBy: undefined, handler });
  });

  it("names each problem", () => {
    expect(checkHookModule(null).problems).toEqual([
      "the default export must be an object of hooks, not null",
    ]);
    expect(checkHookModule([]).problems).toEqual([
      "the default export must be an object of hooks, not an array",
    ]);
    expect(
      checkHookModule({
        onSubscribe: () => {},
        onPublish: "yes",
        onDeliver: { handler: 1, scope: "all", groupBy: {}, extra: true },
      }).problems,
    ).toEqual([
      'unknown hook "onSubscribe" (known: onSubscriptionCreate, onSubscriptionStart, onReceiveEvents, onDeliver, onPublish)',
      "onPublish must be a function, not a string",
      'onDeliver: unknown key "extra" (known: scope, groupBy, handler)',
      "onDeliver.handler must be a function, not a number",
      'onDeliver.scope must be "group" or "subscriber"',
      "onDeliver.groupBy must be a function, not an object",
    ]);
    expect(
      checkHookModule({ onDeliver: { scope: "subscriber", groupBy: () => 1, handler: () => {} } }).problems,
    ).toEqual(['onDeliver.groupBy means nothing with scope "subscriber"']);
  });
});

describe("loadHookModules", () => {
  it("imports modules in order and labels them relative to the config's folder", async () => {
    const dir = await tempFiles({
      "a.mjs": "export default { onPublish() {} };",
      "b.mjs": "export default { onReceiveEvents() {}, onDeliver: { handler() {} } };",
    });
    const mods = await loadHookModules([join(dir, "a.mjs"), join(dir, "b.mjs")], dir);
    expect(mods.map((m) => m.label)).toEqual(["a.mjs", "b.mjs"]);
    expect([...definedHooks(mods)].sort()).toEqual(["onDeliver", "onPublish", "onReceiveEvents"]);
  });

  it("refuses with every file's problems: missing, not loadable, no default, a bad export, no hook", async () => {
    const dir = await tempFiles({
      "syntax.mjs": "export default {",
      "throws.mjs": 'throw new Error("while loading");',
      "named.mjs": "export const onPublish = () => {};",
      "typo.mjs": "export default { onPublsh() {} };",
      "empty.mjs": "export default {};",
    });
    const files = ["missing.mjs", "syntax.mjs", "throws.mjs", "named.mjs", "typo.mjs", "empty.mjs"].map((f) =>
      join(dir, f),
    );
    const err = await loadHookModules(files, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamgateAggregateError);
    const e = err as StreamgateAggregateError;
    expect(e.code).toBe(ErrorCode.HOOK_MODULE_INVALID);
    expect(e.problems).toHaveLength(6);
    expect(e.problems[0]).toMatch(new RegExp(`^${files[0]}: cannot load the module: .*Cannot find module`));
    // The text is the loader's (Node's, or vitest's transform in this test); it is never lost.
    expect(e.problems[1]).toMatch(new RegExp(`^${files[1]}: cannot load the module: \\w`));
    expect(e.problems[1]).not.toMatch(/object Object/);
    expect(e.problems[2]).toBe(`${files[2]}: cannot load the module: while loading`);
    expect(e.problems[3]).toBe(
      `${files[3]}: the module has no default export (export default { onSubscriptionCreate, … })`,
    );
    expect(e.problems[4]).toMatch(new RegExp(`^${files[4]}: unknown hook "onPublsh"`));
    expect(e.problems[5]).toBe(`${files[5]}: the module exports no hook`);
  });
});
