import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  FD_RESERVE,
  connectionCap,
  fdLimitWarning,
  openFileLimit,
  parseProcLimits,
} from "../../../src/observability/fd-limit.js";

const PROC = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                40000                files
Max locked memory         8388608              8388608              bytes
`;

describe("open-file limit", () => {
  it("reads soft and hard from /proc/<pid>/limits", () => {
    expect(parseProcLimits(PROC)).toEqual({ soft: 20000, hard: 40000 });
    expect(parseProcLimits(PROC.replace("20000                40000", "unlimited unlimited"))).toEqual({
      soft: "unlimited",
      hard: "unlimited",
    });
  });

  it("gives up on text it does not understand rather than guess", () => {
    expect(parseProcLimits("")).toBeUndefined();
    expect(parseProcLimits("Max open files  lots  more")).toBeUndefined();
    expect(parseProcLimits("Max open files 12")).toBeUndefined();
  });

  it.runIf(process.platform === "linux")(
    "matches this process's own limit (Node raised soft to hard)",
    () => {
      const limit = openFileLimit();
      expect(limit).toEqual(parseProcLimits(readFileSync("/proc/self/limits", "utf8")));
      // With an unlimited hard limit Node settles on the highest soft value the kernel takes.
      if (limit!.hard !== "unlimited") expect(limit!.soft).toBe(limit!.hard);
    },
  );

  it("caps the admitted connections at the soft limit minus the reserve", () => {
    expect(connectionCap({ soft: 20000, hard: 20000 }, 50000)).toBe(20000 - FD_RESERVE);
    expect(connectionCap({ soft: 20000, hard: 20000 }, 1000)).toBe(1000);
    expect(connectionCap({ soft: "unlimited", hard: "unlimited" }, 50000)).toBe(50000);
    expect(connectionCap(undefined, 50000)).toBe(50000);
    // A limit below the reserve still admits one connection rather than none.
    expect(connectionCap({ soft: 100, hard: 100 }, 50000)).toBe(1);
  });

  it("warns only when max_connections cannot fit under the soft limit", () => {
    expect(fdLimitWarning({ soft: 20000, hard: 20000 }, 19000)).toBeUndefined();
    expect(fdLimitWarning({ soft: 20000, hard: 20000 }, 20000 - FD_RESERVE + 1)).toMatch(
      /max_connections is 19745 but the open-file limit is 20000 \(hard 20000\): connections past 19744 are refused with 503/,
    );
    expect(fdLimitWarning({ soft: "unlimited", hard: "unlimited" }, 1e9)).toBeUndefined();
    expect(fdLimitWarning(undefined, 1e9)).toBeUndefined();
  });
});
