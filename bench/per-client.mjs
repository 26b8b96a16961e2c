/**
 * What each client costs the router, from two kinds of profile (profiles/per-client.md):
 *
 *   node bench/per-client.mjs census <empty.heapsnapshot> <loaded.heapsnapshot> <clients> [--by-retainer] [--top n]
 *     the loaded snapshot's growth over the empty one per client, grouped by constructor; closures
 *     by function name, closure contexts by the functions that share them, and (--by-retainer)
 *     plain objects, arrays and strings by what holds them. Snapshots: `npm run bench -- idle
 *     --stack streamgate --heap-snapshot <dir>`.
 *
 *   node bench/per-client.mjs alloc <profile.json> <clients> [--top n]
 *     a sampling heap profile (bench/lib/alloc-sampler.cjs, garbage included) per client, by the
 *     uWS handler the allocation ran under (upgrade, open, message) and by the deepest Streamgate
 *     frame: what a connect burst allocates.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { "by-retainer": { type: "boolean" }, top: { type: "string", default: "40" } },
});
const top = Number(values.top);

function loadSnapshot(file) {
  const s = JSON.parse(readFileSync(file, "utf8"));
  const m = s.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const types = m.node_types[0];
  const etypes = m.edge_types[0];
  const { nodes, edges, strings } = s;
  const n = nodes.length / nf;
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += nodes[i * nf + 4] * ef;
    firstEdge[i + 1] = e;
  }
  const type = (i) => types[nodes[i * nf]];
  const name = (i) => strings[nodes[i * nf + 1]];
  // Which functions share each closure context.
  const owners = new Map();
  for (let i = 0; i < n; i++) {
    if (type(i) !== "closure") continue;
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += ef) {
      if (etypes[edges[e]] !== "internal" || strings[edges[e + 1]] !== "context") continue;
      const to = edges[e + 2] / nf;
      const set = owners.get(to) ?? new Set();
      set.add(name(i) || "(anon)");
      owners.set(to, set);
    }
  }
  const ownersOf = (i) => [...(owners.get(i) ?? ["?"])].sort().join(",").slice(0, 80);
  // First strong retainer of each node.
  const retainer = new Int32Array(n).fill(-1);
  const via = new Int32Array(n).fill(-1);
  if (values["by-retainer"]) {
    for (let i = 0; i < n; i++)
      for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += ef) {
        const et = etypes[edges[e]];
        if (et === "weak" || et === "shortcut") continue;
        const to = edges[e + 2] / nf;
        if (retainer[to] === -1) {
          retainer[to] = i;
          via[to] = e;
        }
      }
  }
  const describe = (i) => {
    const t = type(i);
    if (t === "object" && name(i) === "system / Context") return `context of ${ownersOf(i)}`;
    if (t === "closure") return `closure ${name(i) || "(anon)"}`;
    if (t.includes("string")) return `${t} ${JSON.stringify(name(i).slice(0, 40))}`;
    return `${t} ${name(i).slice(0, 60)}`;
  };
  const census = new Map();
  for (let i = 0; i < n; i++) {
    let key = describe(i);
    const t = type(i);
    const plain = t === "array" || t === "hidden" || t.includes("string") || (t === "object" && name(i) === "Object");
    if (values["by-retainer"] && plain && retainer[i] >= 0) {
      const e = via[i];
      const edge = ["element", "hidden"].includes(etypes[edges[e]]) ? `[${edges[e + 1]}]` : strings[edges[e + 1]];
      key += `  <- ${describe(retainer[i])} .${edge}`;
    }
    const c = census.get(key) ?? { count: 0, size: 0 };
    c.count++;
    c.size += nodes[i * nf + 3];
    census.set(key, c);
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += nodes[i * nf + 3];
  return { census, total };
}

function census(emptyFile, loadedFile, clients) {
  const a = loadSnapshot(emptyFile);
  const b = loadSnapshot(loadedFile);
  const rows = [];
  for (const [key, v] of b.census) {
    const u = a.census.get(key) ?? { count: 0, size: 0 };
    if (v.size > u.size) rows.push({ key, count: v.count - u.count, size: v.size - u.size });
  }
  rows.sort((x, y) => y.size - x.size);
  console.log(`JS heap (self sizes): ${a.total} -> ${b.total} B, ${((b.total - a.total) / clients).toFixed(0)} B per client`);
  console.log("| B per client | objects per client | what |\n| ---: | ---: | --- |");
  for (const r of rows.slice(0, top))
    console.log(`| ${(r.size / clients).toFixed(1)} | ${(r.count / clients).toFixed(2)} | ${r.key.replaceAll("|", "\\|")} |`);
}

function alloc(file, clients) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byHandler = new Map();
  const byFrame = new Map();
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  const walk = (node, stack) => {
    const cf = node.callFrame;
    const frame = { fn: cf.functionName || "(anon)", url: cf.url, line: cf.lineNumber + 1 };
    const st = [...stack, frame];
    if (node.selfSize > 0) {
      total += node.selfSize;
      const h = st.find(
        (f) => /dist\/transport\/websocket\.js$/.test(f.url) && ["upgrade", "open", "message", "close"].includes(f.fn),
      );
      add(byHandler, h ? h.fn : "(elsewhere: start-up, timers, broker)", node.selfSize);
      const own = st.findLast((f) => /\/dist\//.test(f.url));
      if (h && own) add(byFrame, `${h.fn}: ${own.fn} ${own.url.replace(/.*\/dist\//, "dist/")}:${own.line}`, node.selfSize);
    }
    for (const c of node.children) walk(c, st);
  };
  walk(profile.head, []);
  const show = (title, m) => {
    console.log(`\n| ${title} | B per client | MB |\n| --- | ---: | ---: |`);
    for (const [k, v] of [...m].sort((x, y) => y[1] - x[1]).slice(0, top))
      console.log(`| ${k} | ${(v / clients).toFixed(0)} | ${(v / 1048576).toFixed(1)} |`);
  };
  console.log(`sampled ${(total / 1048576).toFixed(1)} MB in all`);
  show("uWS handler", byHandler);
  show("handler: deepest Streamgate frame", byFrame);
}

const [cmd, ...args] = positionals;
if (cmd === "census" && args.length === 3) census(args[0], args[1], Number(args[2]));
else if (cmd === "alloc" && args.length === 2) alloc(args[0], Number(args[1]));
else {
  console.error("usage: per-client.mjs census <empty> <loaded> <clients> [--by-retainer] | alloc <profile> <clients>");
  process.exit(2);
}
