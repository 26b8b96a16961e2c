/**
 * `${NAME}` environment references in string values of a parsed config document. Done on the
 * parsed tree rather than the raw text so that a value can never inject YAML structure (a
 * password containing ": " or a newline stays one string) and so problems can name the key path.
 */

/** A location in the document: object keys and array indexes, outermost first. */
export type ConfigPath = readonly (string | number)[];

export interface InterpolationProblem {
  readonly path: ConfigPath;
  readonly message: string;
}

export interface InterpolationResult {
  /** A copy of the document with references replaced; the input is not modified. */
  readonly value: unknown;
  readonly problems: readonly InterpolationProblem[];
  /** Paths of strings that contained at least one reference (the loader may coerce them). */
  readonly interpolated: readonly ConfigPath[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${NAME}` with `env[NAME]` in every string value (never in keys); `$${NAME}` is a
 * literal `${NAME}`. An unset variable, an invalid name or an unterminated `${` is a problem;
 * the string is then left as written. A variable set to "" is set.
 */
export function interpolateEnv(
  doc: unknown,
  env: Readonly<Record<string, string | undefined>>,
): InterpolationResult {
  const problems: InterpolationProblem[] = [];
  const interpolated: ConfigPath[] = [];

  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === "string") {
      if (!node.includes("${")) return node;
      const out = replaceRefs(node, env);
      if (out.errors.length > 0) {
        for (const message of out.errors) problems.push({ path: [...path], message });
        return node;
      }
      if (out.replaced) interpolated.push([...path]);
      return out.text;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === "object") {
      const copy: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) {
        // defineProperty: a "__proto__" key must stay a plain (and then unknown) key.
        Object.defineProperty(copy, key, {
          value: walk(value, [...path, key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return copy;
    }
    return node;
  };

  return { value: walk(doc, []), problems, interpolated };
}

function replaceRefs(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): { text: string; replaced: boolean; errors: string[] } {
  const errors: string[] = [];
  let out = "";
  let replaced = false;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
      continue;
    }
    if (!text.startsWith("${", i)) {
      out += text[i];
      i += 1;
      continue;
    }
    const end = text.indexOf("}", i + 2);
    if (end < 0) {
      errors.push("unterminated ${ (write $${ for a literal ${)");
      break;
    }
    const name = text.slice(i + 2, end);
    // hasOwn: a plain `{}` env must not resolve ${constructor} from Object.prototype.
    const value = NAME.test(name) && Object.hasOwn(env, name) ? env[name] : undefined;
    if (!NAME.test(name))
      errors.push(`invalid environment variable name ${JSON.stringify(name)} in \${${name}}`);
    else if (value === undefined) errors.push(`environment variable ${name} is not set`);
    else {
      out += value;
      replaced = true;
    }
    i = end + 1;
  }
  return { text: out, replaced, errors };
}
