import { describe, expect, it } from "vitest";
import { matchGlob, matchNatsSubject, validateNatsSubject } from "../../../src/providers/subject.js";

describe("matchNatsSubject", () => {
  it.each([
    ["a.b.c", "a.b.c", true],
    ["a.b.c", "a.b", false],
    ["a.b", "a.b.c", false],
    ["a.*.c", "a.b.c", true],
    ["a.*.c", "a.b.d", false],
    ["a.*", "a.b.c", false],
    ["*", "a", true],
    ["*", "a.b", false],
    ["a.>", "a.b", true],
    ["a.>", "a.b.c.d", true],
    ["a.>", "a", false],
    [">", "a", true],
    [">", "a.b", true],
    ["*.>", "a", false],
    ["*.>", "a.b", true],
    ["a.*.>", "a.b.c", true],
    ["a.*.>", "a.b", false],
    // `*` and `>` inside a token are literals, as on the server.
    ["a.b*", "a.bc", false],
    ["a.b*", "a.b*", true],
    ["a.>x", "a.b", false],
    ["a.b", "a.*", false],
  ])("%s ~ %s → %s", (pattern, subject, expected) => {
    expect(matchNatsSubject(pattern, subject)).toBe(expected);
  });
});

describe("matchGlob (Redis PSUBSCRIBE)", () => {
  it.each([
    ["news.*", "news.art", true],
    ["news.*", "news.", true],
    ["news.*", "news", false],
    ["*", "", true],
    ["*", "anything.at.all", true],
    ["h?llo", "hello", true],
    ["h?llo", "hllo", false],
    ["h*llo", "hllo", true],
    ["h*llo", "heeeello", true],
    ["h[ae]llo", "hallo", true],
    ["h[ae]llo", "hillo", false],
    ["h[^e]llo", "hallo", true],
    ["h[^e]llo", "hello", false],
    ["h[a-b]llo", "hbllo", true],
    ["h[a-b]llo", "hcllo", false],
    ["h[b-a]llo", "hallo", true], // a reversed range is swapped, as in Redis
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["a\\?", "a?", true],
    ["[\\]]", "]", true],
    ["[\\^a]", "^", true],
    ["x[]y", "xy", false], // `]` right after `[` closes an empty class that matches nothing
    ["[^]", "q", true],
    ["a[bc", "ab", true], // unclosed bracket ends at the pattern's end
    ["a\\", "a\\", true], // trailing backslash is literal
    ["*a*a*a*a*a*b", "a".repeat(40), false], // no exponential backtracking
    ["*.*.x", "a.b.x", true],
    ["*.*.x", "a.x", false],
    ["**", "abc", true],
  ])("%s ~ %s → %s", (pattern, channel, expected) => {
    expect(matchGlob(pattern, channel)).toBe(expected);
  });
});

describe("validateNatsSubject", () => {
  const sub = { allowWildcards: true };
  const pub = { allowWildcards: false };
  it("accepts valid subjects", () => {
    expect(validateNatsSubject("a.b.c", pub)).toBeNull();
    expect(validateNatsSubject("employee.7", pub)).toBeNull();
    expect(validateNatsSubject("a.*.c", sub)).toBeNull();
    expect(validateNatsSubject("a.>", sub)).toBeNull();
    expect(validateNatsSubject(">", sub)).toBeNull();
    expect(validateNatsSubject("a.b*", pub)).toBeNull(); // literal token
  });
  it.each([
    ["", pub, /empty/],
    ["a b", pub, /whitespace/],
    ["a.\tb", sub, /whitespace/],
    ["a\n", sub, /whitespace/],
    [".a", pub, /starts with a dot/],
    ["a.", pub, /ends with a dot/],
    ["a..b", sub, /empty token/],
    ["a.*", pub, /wildcard "\*"/],
    ["a.>", pub, /wildcard ">"/],
    ["a.>.b", sub, /">" before its last token/],
  ])("rejects %j", (subject, rules, message) => {
    expect(validateNatsSubject(subject, rules)).toMatch(message);
  });
});
