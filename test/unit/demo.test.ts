import { describe, expect, it } from "vitest";
import { publishedName } from "../../src/demo/embedded.js";
import { DemoEmployees } from "../../src/demo/entity-subgraph.js";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("demo: names published through updateEmployee", () => {
  it("reads the id and name of an updateEmployee payload", () => {
    expect(publishedName(bytes('{"id":"1","update":{"name":"Ada"}}'))).toEqual({ id: "1", name: "Ada" });
    expect(publishedName(bytes('{"id":3,"update":{"name":""}}'))).toEqual({ id: "3", name: "" });
  });

  it.each([
    ["not JSON", "{"],
    ["null", "null"],
    ["an array", "[1]"],
    ["no update", '{"id":"1"}'],
    ["update null", '{"id":"1","update":null}'],
    ["no name", '{"id":"1","update":{}}'],
    ["a number name", '{"id":"1","update":{"name":5}}'],
    ["an object id", '{"id":{},"update":{"name":"x"}}'],
  ])("ignores %s", (_, text) => {
    expect(publishedName(bytes(text))).toBeUndefined();
  });

  it("keeps at most 1,000 renamed ids, names cut to 200 characters", () => {
    const people = new DemoEmployees();
    expect(people.employee("1").name).toBe("Grace Hopper (#1)");
    people.rename("1", "Ada");
    expect(people.employee("1")).toMatchObject({ id: "1", name: "Ada", role: "Rear Admiral" });
    people.rename("2", "y".repeat(5000));
    expect(people.employee("2").name).toBe("y".repeat(200));
    for (let i = 0; i < 1000; i++) people.rename(`k${i}`, "z");
    expect(people.employee("1").name).toBe("Grace Hopper (#1)"); // evicted, back to the list
  });
});
