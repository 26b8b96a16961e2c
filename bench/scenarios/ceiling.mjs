/**
 * Issue 16, "the box's real ceiling": one router instance, clients added in steps (from a
 * generator spread over processes and source addresses) until a step has connections that fail or
 * `maxClients` were attempted. Reports the most clients held at once, what stopped it (the
 * router's own limit: HTTP 503; its open-file limit: connections left unanswered in the listen
 * backlog while it cannot accept; the generator's or the kernel's limits: EMFILE, EADDRNOTAVAIL
 * on the client side), RSS and CPU at that count, whether every held client still gets an event,
 * and whether the router stayed alive and answers /health/ready (at the limit, and after 100
 * clients left).
 */
import { readFileSync } from "node:fs";
import { GeneratorFleet } from "../lib/gen-fleet.mjs";
import { round1, sleep } from "../lib/harness.mjs";
import {
  exitInfo,
  fdCount,
  loggedFdLimit,
  memorySnapshot,
  startInstances,
  stopInstances,
} from "../lib/instances.mjs";
import { stamp, warmUp } from "../lib/publisher.mjs";
import { SUBSCRIPTION } from "../lib/schema.mjs";
import { cpuWindow } from "../lib/sys.mjs";
import { drain } from "./common.mjs";

const TOPIC = "1";

/** GET /health/ready with a timeout: {status} or {error}. */
async function ready(port, timeoutMs = 3000) {
  const t0 = performance.now();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.text();
    return { status: res.status, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { error: String(err?.cause?.code ?? err?.name ?? err), ms: Math.round(performance.now() - t0) };
  }
}

/** The soft/hard open-file limit of a process as the kernel has it (/proc/<pid>/limits). */
function procFdLimit(pid) {
  const m = /Max open files\s+(\S+)\s+(\S+)/.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
  return m ? { soft: Number(m[1]) || m[1], hard: Number(m[2]) || m[2] } : null;
}

/** Names what stopped the ramp from the failure reasons, the router's fds and its limit. */
export function stopCause({ reasons, fds, limit, attemptedAll }) {
  const total = Object.values(reasons).reduce((s, n) => s + n, 0);
  if (total === 0) return attemptedAll ? "none: every attempted client was held (raise --max-clients)" : "unclear";
  const top = Object.entries(reasons).sort((a, b) => b[1] - a[1])[0][0];
  const atFdLimit = typeof limit?.soft === "number" && fds >= limit.soft - 8;
  if (/\b503\b/.test(top)) return "the router's own limit: limits.max_connections answered HTTP 503";
  if (/EMFILE|ENFILE/.test(top))
    return "the generator's open-file limit (EMFILE on the client side): add generator processes";
  if (/EADDRNOTAVAIL|EADDRINUSE/.test(top))
    return `source ports on the generator's addresses (${top}): lower --address-block`;
  if (atFdLimit)
    return `the router's open-file limit: ${fds} of ${limit.soft} descriptors in use, new connections wait in the listen backlog unaccepted (client side: ${top})`;
  return `unclear (most failures: ${top}; router fds ${fds} of ${limit?.soft})`;
}

export async function runCeiling({ stackName, opts, nats, pub, layout, log }) {
  const limits = opts.maxConnections ? { max_connections: opts.maxConnections } : {};
  const instances = await startInstances({
    stackName,
    n: 1,
    brokerUrl: nats.url,
    cpus: layout?.router,
    limits,
    nodeArgs: opts.nodeArgs,
  });
  const inst = instances[0];
  const failures = [];
  let fleet;
  try {
    const logged = loggedFdLimit(inst);
    const kernelLimit = procFdLimit(inst.pid);
    log(`router pid ${inst.pid}: open-file limit logged ${JSON.stringify(logged)}, /proc ${JSON.stringify(kernelLimit)}`);
    await sleep(opts.emptySettleS * 1000);
    const empty = memorySnapshot(instances);
    fleet = new GeneratorFleet({
      processes: opts.genProcesses,
      workersPerProcess: opts.genWorkers,
      totalClients: opts.maxClients,
      client: opts.client,
      addressBlock: opts.addressBlock,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
      cpus: layout?.load,
    });
    await fleet.ready;
    const url = `ws://127.0.0.1:${inst.port}/graphql`;
    const steps = [];
    let from = 0;
    let stoppedByFailures = false;
    let slowSteps = 0;
    // The router's descriptors sampled through the ramp: the most it had open, even if it exits.
    let maxFds = 0;
    const fdTimer = setInterval(() => {
      maxFds = Math.max(maxFds, fdCount(inst.pid) ?? 0);
    }, 100);
    while (from < opts.maxClients) {
      const count = Math.min(opts.step, opts.maxClients - from);
      const t0 = performance.now();
      const r = await fleet.connect({ jobs: [{ url, from, count }], query: SUBSCRIPTION, topics: [TOPIC] });
      from += count;
      const st = await fleet.status();
      const step = {
        attempted: from,
        acked: r.acked,
        failed: r.failed,
        held: st.open,
        routerFds: fdCount(inst.pid),
        routerRssMB: memorySnapshot(instances).perInstance[0].rssMB,
        seconds: round1((performance.now() - t0) / 1000),
      };
      steps.push(step);
      log(`${step.attempted} attempted: ${step.held} held, ${step.failed} failed, router fds ${step.routerFds}`);
      if (step.routerFds === null) {
        await sleep(200); // let the exit be reaped so its code is known
        const how = exitInfo(inst);
        failures.push(
          `the router exited (${how?.exitCode ?? how?.signal}) at ${step.attempted} clients attempted, ${steps.at(-2)?.held ?? 0} held before`,
        );
        log(`router exited (${how?.exitCode ?? how?.signal}); its output ends: ${how?.outputTail.slice(-600)}`);
        break;
      }
      if (r.failed > 0) {
        // A few handshakes slower than the timeout on a busy machine are not a limit: go on while
        // the router has descriptors left and nothing was refused; stop after 3 such steps in a row.
        const reasons = (await fleet.stats({})).connectFailures;
        const onlyTimeouts = Object.keys(reasons).every((k) => k.startsWith("no ack within"));
        const atFdLimit = step.routerFds >= (Number(kernelLimit?.soft) || Number.POSITIVE_INFINITY) - 8;
        slowSteps++;
        if (!onlyTimeouts || atFdLimit || r.acked === 0 || slowSteps >= 3) {
          stoppedByFailures = true;
          break;
        }
      } else slowSteps = 0;
    }
    clearInterval(fdTimer);
    const stats0 = await fleet.stats({});
    const status = await fleet.status();
    const fds = fdCount(inst.pid);
    const held = status.open;

    // At the limit: memory, CPU while nothing happens, readiness, and an event to every held client.
    const atLimit = memorySnapshot(instances);
    const cpu = cpuWindow([inst.pid]);
    await sleep(5000);
    const idleAtLimit = cpu.stop();
    const readyAtLimit = await ready(inst.port);
    await fleet.all("reset");
    const warm = await warmUp(pub, fleet, { topics: [TOPIC], expect: held, everyMs: 1000, timeoutMs: 60_000 });
    await fleet.all("reset");
    pub.publish(TOPIC, `1:${stamp()}`);
    await pub.flush();
    const got = await drain(fleet, held, { stallMs: 10_000, maxMs: 120_000 });
    const probe = await fleet.stats({});
    if (got !== held || probe.outOfOrder > 0)
      failures.push(`an event at the limit reached ${got} of ${held} held clients (${probe.outOfOrder} duplicates)`);

    // Afterwards: 100 clients leave; the router must answer again.
    const perWorker = Math.ceil(100 / (opts.genProcesses * opts.genWorkers));
    await fleet.all("closeSome", { count: perWorker });
    await sleep(2000);
    const readyAfter = await ready(inst.port);
    const alive = fdCount(inst.pid) !== null;
    if (!alive) failures.push("the router exited");
    if (readyAfter.status !== 200)
      failures.push(`/health/ready after clients left: ${readyAfter.status ?? readyAfter.error}`);
    const exit = exitInfo(inst);
    const exitError = exit?.outputTail.split("\n").find((l) => /^\w*Error\b/.test(l));
    const cause = exit
      ? `the router exited (${exit.exitCode ?? exit.signal}) at ${steps.at(-1)?.attempted} clients attempted: ${exitError ?? "see routerExit"}`
      : stopCause({ reasons: stats0.connectFailures, fds, limit: kernelLimit, attemptedAll: !stoppedByFailures });
    log(`ceiling: ${Math.max(held, ...steps.map((x) => x.held))} clients held at most; stopped by ${cause}`);
    return {
      failures,
      figures: {
        // The most held at once (a router that exits holds none at the end).
        maxClientsHeld: Math.max(held, ...steps.map((x) => x.held)),
        heldAtEnd: held,
        stoppedBy: cause,
        connectFailureReasons: stats0.connectFailures,
        openFilesLimitLogged: logged,
        openFilesLimitKernel: kernelLimit,
        routerFdsAtLimit: fds,
        routerFdsMax: maxFds,
        routerMaxConnections: opts.maxConnections ?? "default (50000)",
        generatorProcesses: opts.genProcesses,
        sourceAddresses: Math.max(1, Math.ceil(opts.maxClients / opts.addressBlock)),
        sourceAddressesBound: opts.maxClients > opts.addressBlock,
        handshakeTimeoutMs: opts.handshakeTimeoutMs,
        steps,
        memory: { empty, atLimit },
        rssPerClientKiB:
          held > 0 ? round1(((atLimit.sumRssMB - empty.sumRssMB) * 1024) / held) : null,
        routerCpuAtLimitPct: round1(idleAtLimit.percent),
        readyAtLimit,
        eventAtLimit: { warm: warm.warm, delivered: got, held, latencyMs: probe.latency },
        readyAfterClientsLeft: readyAfter,
        routerAlive: alive,
        ...(exit ? { routerExit: exit } : {}),
      },
    };
  } finally {
    await fleet?.close().catch(() => {});
    await stopInstances(instances);
  }
}
