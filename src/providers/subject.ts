/**
 * Topic matching and validation shared by the providers, with no I/O. NATS subjects are
 * dot-separated tokens with `*` (one token) and `>` (the rest); Redis channels use PSUBSCRIBE globs.
 * The memory provider uses both to behave like the broker it stands in for.
 */

/** A compiled pattern: returns true when the concrete topic matches. */
export type TopicMatcher = (topic: string) => boolean;

/**
 * Compiles a NATS subject pattern. `*` matches exactly one token, `>` (last token only) one or
 * more trailing tokens; a token such as `a*` is a literal, as on the NATS server.
 */
export function compileNatsSubject(pattern: string): TopicMatcher {
  if (!pattern.includes("*") && !pattern.includes(">")) return (subject) => subject === pattern;
  const tokens = pattern.split(".");
  const last = tokens.length - 1;
  return (subject) => {
    const parts = subject.split(".");
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === ">" && i === last) return parts.length > i;
      if (i >= parts.length) return false;
      if (t !== "*" && t !== parts[i]) return false;
    }
    return parts.length === tokens.length;
  };
}

/** True when the NATS `subject` is matched by `pattern` (see {@link compileNatsSubject}). */
export function matchNatsSubject(pattern: string, subject: string): boolean {
  return compileNatsSubject(pattern)(subject);
}

/** One element of a compiled glob: `*`, or a test for exactly one character. */
type GlobPart = "*" | ((c: string) => boolean);

/**
 * Compiles a Redis PSUBSCRIBE glob, following Redis' `stringmatchlen`: `*` any run (separators
 * included), `?` one character, `[abc]`, `[^a]`, `[a-z]` (a reversed range is swapped), and `\`
 * escapes the next character inside and outside brackets. An unclosed `[` ends at the pattern's
 * end, and a trailing lone `\` is a literal backslash, as in Redis.
 */
export function compileGlob(pattern: string): TopicMatcher {
  if (!/[*?[\\]/.test(pattern)) return (channel) => channel === pattern;
  const parts = parseGlob(pattern);
  return (channel) => globMatch(parts, channel);
}

/** True when the Redis `channel` is matched by the glob `pattern` (see {@link compileGlob}). */
export function matchGlob(pattern: string, channel: string): boolean {
  return compileGlob(pattern)(channel);
}

function parseGlob(p: string): GlobPart[] {
  const parts: GlobPart[] = [];
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === "*") {
      // Consecutive stars mean the same as one; collapsing keeps matching linear per star.
      if (parts[parts.length - 1] !== "*") parts.push("*");
      i++;
    } else if (c === "?") {
      parts.push(() => true);
      i++;
    } else if (c === "[") {
      i++;
      const negate = p[i] === "^";
      if (negate) i++;
      const tests: ((ch: string) => boolean)[] = [];
      while (i < p.length && p[i] !== "]") {
        const a = p[i]!;
        if (a === "\\" && i + 1 < p.length) {
          const lit = p[i + 1]!;
          tests.push((ch) => ch === lit);
          i += 2;
        } else if (p[i + 1] === "-" && i + 2 < p.length) {
          const b = p[i + 2]!;
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          tests.push((ch) => ch >= lo && ch <= hi);
          i += 3;
        } else {
          tests.push((ch) => ch === a);
          i++;
        }
      }
      i++; // the closing bracket, or past the end when unclosed
      parts.push((ch) => tests.some((t) => t(ch)) !== negate);
    } else {
      const lit = c === "\\" && i + 1 < p.length ? p[++i]! : c;
      parts.push((ch) => ch === lit);
      i++;
    }
  }
  return parts;
}

/**
 * Classic wildcard matching with one backtrack point: every part but `*` consumes exactly one
 * character, so on a mismatch it is enough to let the most recent `*` swallow one more character.
 * Worst case O(pattern × channel), never exponential like naive recursion.
 */
function globMatch(parts: readonly GlobPart[], s: string): boolean {
  let pi = 0;
  let si = 0;
  let starPi = -1;
  let starSi = 0;
  while (si < s.length) {
    const part = parts[pi];
    if (part === "*") {
      starPi = pi++;
      starSi = si;
    } else if (part?.(s[si]!)) {
      pi++;
      si++;
    } else if (starPi >= 0) {
      pi = starPi + 1;
      si = ++starSi;
    } else {
      return false;
    }
  }
  while (parts[pi] === "*") pi++;
  return pi === parts.length;
}

/** Options for {@link validateNatsSubject}. */
export interface NatsSubjectRules {
  /** Subscriptions may hold `*` and `>` tokens; published subjects may not. */
  readonly allowWildcards: boolean;
}

/**
 * Checks a NATS subject after templating. Returns a message naming the problem, or null when the
 * subject is valid. Rules: not empty, no whitespace, no leading or trailing dot, no empty token,
 * and wildcard tokens only when allowed (`>` only as the last token).
 */
export function validateNatsSubject(subject: string, rules: NatsSubjectRules): string | null {
  const q = JSON.stringify(subject);
  if (subject.length === 0) return "subject is empty";
  if (/\s/.test(subject)) return `subject ${q} contains whitespace`;
  if (subject.startsWith(".")) return `subject ${q} starts with a dot`;
  if (subject.endsWith(".")) return `subject ${q} ends with a dot`;
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === "") return `subject ${q} has an empty token`;
    if (t !== "*" && t !== ">") continue;
    if (!rules.allowWildcards) return `subject ${q} contains the wildcard "${t}", which is not allowed here`;
    if (t === ">" && i !== tokens.length - 1) return `subject ${q} has ">" before its last token`;
  }
  return null;
}
