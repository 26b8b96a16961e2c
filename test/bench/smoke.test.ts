/**
 * A seconds-long smoke of the benchmark harness (bench/run.mjs): scenario 2 with 100 clients and a
 * few events, Streamgate and the graphql-ws baseline only, results into a temp dir. Asserts every
 * delivery arrived and the result JSON is well-formed. Not a benchmark: no figure is asserted.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/router.js";

interface Phase {
  rate: number;
  expected: number;
  delivered: number;
  missing: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number; count: number } | null;
  ok: boolean;
}

interface BenchResult {
  scenario: string;
  number: number;
  status: string;
  timestamp: string;
  command: string;
  machine: { cpuModel: string; cores: number; memBytes: number; kernel: string };
  versions: Record<string, string | null>;
  loadBefore: number[];
  loadAfter: number[];
  options: { clients: number; stacks: string[] };
  summary: Record<string, { runs: number; passed: number; median: Record<string, number | null> }>;
  runs: { stack: string; status: string; failures: string[]; figures: { acked: number; phases: Phase[] } }[];
}

let out: string | undefined;
afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

function runBench(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(REPO_ROOT, "bench/run.mjs"), ...args], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

it("runs scenario 2 on Streamgate and baseline 2 with every delivery counted", {
  timeout: 40_000,
}, async () => {
  out = await mkdtemp(join(tmpdir(), "streamgate-bench-smoke-"));
  const clients = 100;
  const { code, stderr } = await runBench([
    "broadcast",
    "--clients",
    String(clients),
    "--stack",
    "streamgate,graphql-ws",
    "--rate",
    "20",
    "--duration",
    "0.25",
    "--events",
    "5",
    "--repeat",
    "1",
    "--no-pin",
    "--out",
    out,
  ]);
  expect(code, stderr).toBe(0);

  const files = await readdir(out);
  expect(files).toContain("latest-broadcast.json");
  expect(files.some((f) => /^broadcast-.+\.json$/.test(f))).toBe(true);
  expect(files).toContain("README.md");
  expect(files).toContain("chart.svg");

  const result = JSON.parse(await readFile(join(out, "latest-broadcast.json"), "utf8")) as BenchResult;
  expect(result.scenario).toBe("broadcast");
  expect(result.number).toBe(2);
  expect(result.status).toBe("PASSED");
  expect(Number.isNaN(Date.parse(result.timestamp))).toBe(false);
  expect(result.machine.cores).toBeGreaterThan(0);
  expect(result.versions.node).toBe(process.version);
  expect(result.loadBefore).toHaveLength(3);
  expect(result.options.clients).toBe(clients);
  expect(result.runs.map((r) => r.stack).sort()).toEqual(["graphql-ws", "streamgate"]);
  for (const run of result.runs) {
    expect(run.status, run.failures.join("; ")).toBe("PASSED");
    expect(run.figures.acked).toBe(clients);
    expect(run.figures.phases).toHaveLength(1);
    const [phase] = run.figures.phases;
    expect(phase?.expected).toBe(5 * clients);
    expect(phase?.delivered).toBe(phase?.expected);
    expect(phase?.missing).toBe(0);
    expect(phase?.latencyMs?.count).toBe(5 * clients);
    expect(phase?.latencyMs?.p99).toBeGreaterThan(0);
  }
  expect(result.summary.streamgate?.passed).toBe(1);
  expect(result.summary["graphql-ws"]?.median.r20_p99).toBeGreaterThan(0);
});

it("runs scenario 3 (sharded) with every delivery counted at each step of the ramp", {
  timeout: 40_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "streamgate-bench-smoke3-"));
  try {
    const { code, stderr } = await runBench([
      "sharded",
      "--clients",
      "100",
      "--topics",
      "10",
      "--rate",
      "50",
      "--max-rate",
      "100",
      "--duration",
      "0.5",
      // A loaded CI machine must not end the ramp on latency: only the counts are checked here.
      "--p99-limit",
      "10000",
      "--stack",
      "streamgate,graphql-ws",
      "--repeat",
      "1",
      "--no-pin",
      "--out",
      dir,
    ]);
    expect(code, stderr).toBe(0);
    const file = (await readdir(dir)).find((f) => f.startsWith("latest-sharded"));
    expect(file).toBeDefined();
    const r = JSON.parse(await readFile(join(dir, file!), "utf8")) as {
      status: string;
      runs: {
        figures: {
          steps: { rate: number; delivered: number; expected: number; ok: boolean }[];
          maxSustainedEventsPerSec: number;
        };
      }[];
    };
    expect(r.status).toBe("PASSED");
    expect(r.runs).toHaveLength(2);
    for (const run of r.runs) {
      expect(run.figures.steps.map((s) => s.rate)).toEqual([50, 100]);
      for (const s of run.figures.steps) {
        expect(s.expected).toBeGreaterThan(0);
        expect(s.delivered).toBe(s.expected);
        expect(s.ok).toBe(true);
      }
      expect(run.figures.maxSustainedEventsPerSec).toBe(100);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
