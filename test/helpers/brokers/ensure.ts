/**
 * Makes sure a broker binary from Debian's packages is installed before a test needs it. As root
 * (CI containers, dev containers) it installs what is missing with apt-get; otherwise it fails with
 * the exact command to run, so no test ever depends on a broker someone started by hand.
 */
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `apt-get update` is slow and only needed once per process, whatever the number of packages. */
let aptUpdated: Promise<void> | undefined;
/** apt holds a lock: installs from one process must not overlap. */
let aptQueue: Promise<unknown> = Promise.resolve();

/** Absolute path of `cmd` on PATH, or undefined. */
export function findOnPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function apt(args: string[]): Promise<void> {
  try {
    await run("apt-get", args, {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`apt-get ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/**
 * Resolves to the absolute path of `cmd`, installing `debianPackage` first when `cmd` is missing
 * and the process runs as root. Rejects with install instructions otherwise.
 */
export async function ensureBinary(cmd: string, debianPackage: string): Promise<string> {
  const found = findOnPath(cmd);
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${cmd} is not on PATH and the tests are not running as root, so they cannot install it. ` +
        `Install it with: sudo apt-get install -y --no-install-recommends ${debianPackage}`,
    );
  }
  const install = aptQueue.then(async () => {
    if (findOnPath(cmd)) return;
    aptUpdated ??= apt(["update"]);
    await aptUpdated;
    await apt(["install", "-y", "--no-install-recommends", debianPackage]);
  });
  aptQueue = install.catch(() => undefined);
  await install;
  const installed = findOnPath(cmd);
  if (!installed) {
    throw new Error(`installed Debian package ${debianPackage} but ${cmd} is still not on PATH`);
  }
  return installed;
}

/** Whether Debian package `pkg` is installed (not merely known, nor removed with its config kept). */
async function isInstalled(pkg: string): Promise<boolean> {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const { stdout } = await run("dpkg-query", ["-W", "-f=${Status}", pkg]);
    return stdout.trim() === "install ok installed";
  } catch {
    return false;
  }
}

/**
 * Installs those of the Debian packages `pkgs` that are missing, for what is not one binary on
 * PATH (headers and libraries such as librdkafka-dev, a C compiler). As root it uses apt-get;
 * otherwise it rejects with the exact command to run.
 */
export async function ensurePackages(pkgs: readonly string[]): Promise<void> {
  const missing = async () =>
    (await Promise.all(pkgs.map(async (p) => ((await isInstalled(p)) ? [] : [p])))).flat();
  const first = await missing();
  if (first.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Debian packages ${first.join(", ")} are missing and the tests are not running as root, so they ` +
        `cannot install them. Install them with: sudo apt-get install -y --no-install-recommends ${first.join(" ")}`,
    );
  }
  const install = aptQueue.then(async () => {
    const now = await missing();
    if (now.length === 0) return;
    aptUpdated ??= apt(["update"]);
    await aptUpdated;
    await apt(["install", "-y", "--no-install-recommends", ...now]);
  });
  aptQueue = install.catch(() => undefined);
  await install;
  const still = await missing();
  if (still.length > 0) throw new Error(`apt-get install did not install ${still.join(", ")}`);
}
