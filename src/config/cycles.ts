/**
 * Documents every walk over a config assumes are trees of modest depth. YAML aliases can make a
 * document contain itself (`a: &x [*x]`) and any file can nest thousands of levels; schema
 * validation, interpolation and freezing recurse over the document and would overflow the stack
 * (the CLI died with "Maximum call stack size exceeded"). The loader refuses such documents
 * first, naming the place. This walk keeps its own stack, so it cannot overflow.
 */

/** Nesting no configuration needs (the schema's deepest path is under 10 levels). */
export const MAX_CONFIG_DEPTH = 64;

/** Where `root` refers to itself or nests past {@link MAX_CONFIG_DEPTH}, as "path: problem"; or undefined. */
export function shapeProblem(root: unknown): string | undefined {
  type Frame = {
    readonly value: object;
    readonly path: string;
    readonly depth: number;
    readonly chain: ReadonlySet<object>;
  };
  const stack: Frame[] = [];
  const push = (
    value: unknown,
    path: string,
    depth: number,
    chain: ReadonlySet<object>,
  ): string | undefined => {
    if (value === null || typeof value !== "object") return undefined;
    const at = path === "" ? "(root)" : path;
    if (chain.has(value)) return `${at}: YAML: an alias refers to a value that contains it`;
    if (depth > MAX_CONFIG_DEPTH) return `${at}: nested deeper than ${MAX_CONFIG_DEPTH} levels`;
    stack.push({ value, path, depth, chain: new Set([...chain, value]) });
    return undefined;
  };
  const first = push(root, "", 0, new Set());
  if (first) return first;
  while (stack.length > 0) {
    const { value, path, depth, chain } = stack.pop()!;
    const entries: [string, unknown][] = Array.isArray(value)
      ? value.map((x, i) => [`${path}[${i}]`, x])
      : Object.entries(value).map(([k, x]) => [path === "" ? k : `${path}.${k}`, x]);
    for (const [p, x] of entries) {
      const problem = push(x, p, depth + 1, chain);
      if (problem) return problem;
    }
  }
  return undefined;
}
