/**
 * The compiled router reads its config file in a child process (src/config/load-isolated.ts), so
 * yaml and the validator never load into the serving process. The child must give exactly what
 * reading in-process gives: the same config, the same errors with the same codes and messages, and
 * the parent's environment for `${VAR}`.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfigFile, withoutSource } from "../../src/config/loader.js";
import { REPO_ROOT } from "../helpers/router.js";

type Isolated = typeof import("../../src/config/load-isolated.js");
const compiled = (): Promise<Isolated> =>
  import(pathToFileURL(join(REPO_ROOT, "dist/config/load-isolated.js")).href) as Promise<Isolated>;

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "sg-config-child-"));
  await writeFile(join(dir, name), text);
  return join(dir, name);
}

/** The error both ways, as comparable data. */
const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: { code?: string; message: string; problems?: string[] }) => ({
      code: e.code,
      message: e.message,
      problems: e.problems,
    }),
  );

const YAML = `listen_addr: 127.0.0.1:0
shutdown_grace_period: 3s
subgraphs:
  - name: events
    routing_url: http://127.0.0.1:4001/graphql
    schema_file: ./events.graphql
events:
  providers:
    nats:
      - id: default
        url: \${SG_CHILD_TEST_NATS_URL}
`;

describe("config read in a child process", () => {
  it("gives the config reading in-process gives, with the parent's environment", async () => {
    process.env.SG_CHILD_TEST_NATS_URL = "nats://10.1.2.3:4222";
    try {
      const path = await file("c.yaml", YAML);
      const { loadConfigIsolated } = await compiled();
      const child = await loadConfigIsolated(path);
      const here = await loadConfigFile(path);
      expect(child).toEqual(here);
      expect(child.source).toBe(path);
      expect(child.events.providers.nats[0]!.url).toBe("nats://10.1.2.3:4222");
      expect(child.shutdown_grace_period).toBe(3000);
      expect(Object.isFrozen(child.events)).toBe(true);
      // A command-line override is validated on top of the file and keeps the source (reloads).
      const moved = await loadConfigIsolated(path, { listen_addr: "127.0.0.1:9999" });
      expect(withoutSource(moved)).toEqual({ ...withoutSource(here), listen_addr: "127.0.0.1:9999" });
      expect(moved.source).toBe(path);
    } finally {
      delete process.env.SG_CHILD_TEST_NATS_URL;
    }
  });

  it("a bad file, a bad override and a missing file fail with the same code and message", async () => {
    const { loadConfigIsolated } = await compiled();
    const bad = await file("bad.yaml", "listen_addr: 12\nlimits: { max_connections: -1 }\nnope: 1\n");
    const broken = await file("broken.yaml", "subgraphs: [\n");
    const missing = join(tmpdir(), "sg-config-child-missing", "none.yaml");
    for (const path of [bad, broken, missing]) {
      const child = await caught(loadConfigIsolated(path));
      expect(child).toBeDefined();
      expect(child).toEqual(await caught(loadConfigFile(path)));
    }
    const bad2 = await caught(loadConfigIsolated(await file("ok.yaml", "{}"), { listen_addr: "nowhere" }));
    expect(bad2?.code).toBe("SG_ERR_CONFIG_INVALID");
    expect(bad2?.message).toContain("listen_addr");
  });
});
