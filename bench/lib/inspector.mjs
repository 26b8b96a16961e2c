/**
 * CPU profiles of a measurement window only (not start-up): the stack runs with
 * `--inspect-port=<port>`; SIGUSR1 opens its inspector, and Profiler.start/stop over the DevTools
 * protocol (a `ws` connection) bracket the window. The result is a regular .cpuprofile.
 */
import WebSocket from "ws";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function attach(pid, port) {
  process.kill(pid, "SIGUSR1");
  let target;
  for (let i = 0; i < 50 && !target; i++) {
    await sleep(100);
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
      target = list[0]?.webSocketDebuggerUrl;
    } catch {
      // not listening yet
    }
  }
  if (!target) throw new Error(`inspector of ${pid} did not open on port ${port}`);
  const ws = new WebSocket(target, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let next = 1;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(JSON.stringify(msg.error)));
    else p.resolve(msg.result);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async startProfile(intervalUs = 500) {
      await call("Profiler.enable");
      await call("Profiler.setSamplingInterval", { interval: intervalUs });
      await call("Profiler.start");
    },
    async stopProfile() {
      const { profile } = await call("Profiler.stop");
      return profile;
    },
    close: () => ws.close(),
  };
}
