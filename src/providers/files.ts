/**
 * Checks the files a provider config names (TLS CA, certificate and key files, NATS credentials
 * files) before any connection: present, readable, PEM of the right kind, certificates within
 * their validity dates, a key that matches its certificate, a .creds file holding a user JWT that
 * has not expired and an NKey user seed. Used by `--check-config` and at start-up, so a broken
 * file is named with its config path instead of surfacing as a failed TLS handshake. No message
 * quotes a file's content.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { nkeys } from "@nats-io/transport-node";
import type { EventsConfig, TlsFilesConfig } from "../config/types.js";
import { errorMessage } from "../errors.js";

/** One problem: the config path of the key, and what is wrong with its file. */
export interface FileProblem {
  readonly path: string;
  readonly message: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Every problem with the files of `events`' providers; `now` is for the validity checks. */
export function checkProviderFiles(events: EventsConfig, now = new Date()): FileProblem[] {
  const out: FileProblem[] = [];
  for (const kind of ["nats", "kafka", "redis"] as const) {
    events.providers[kind].forEach((p, i) => {
      const at = `events.providers.${kind}[${i}]`;
      const tls = p.tls as TlsFilesConfig | undefined;
      if (tls) checkTls(tls, `${at}.tls`, now, out);
      const creds = kind === "nats" ? events.providers.nats[i]!.authentication?.credentials_file : undefined;
      if (creds) checkCreds(creds, `${at}.authentication.credentials_file`, now, out);
    });
  }
  return out;
}

function checkTls(tls: TlsFilesConfig, at: string, now: Date, out: FileProblem[]): void {
  const problem = (key: string, file: string, message: string) =>
    out.push({ path: `${at}.${key}`, message: `${file}: ${message}` });
  const certs = (key: string, file: string | undefined): X509Certificate[] | undefined => {
    const text = file === undefined ? undefined : read(file, (m) => problem(key, file, m));
    if (text === undefined || file === undefined) return undefined;
    const blocks = pemBlocks(text).filter((b) => b.label === "CERTIFICATE");
    if (blocks.length === 0) {
      problem(key, file, "not a PEM certificate (no BEGIN CERTIFICATE block)");
      return undefined;
    }
    const parsed: X509Certificate[] = [];
    for (const b of blocks) {
      try {
        parsed.push(new X509Certificate(b.text));
      } catch (err) {
        problem(key, file, `a certificate in it cannot be parsed (${errorMessage(err)})`);
        return undefined;
      }
    }
    for (const c of parsed) {
      const dates = validity(c, now);
      if (dates) problem(key, file, `certificate "${c.subject.replace(/\n/g, ", ")}" ${dates}`);
    }
    return parsed;
  };
  certs("ca_file", tls.ca_file);
  const leaf = certs("cert_file", tls.cert_file)?.[0];
  const keyFile = tls.key_file;
  const keyText = keyFile === undefined ? undefined : read(keyFile, (m) => problem("key_file", keyFile, m));
  if (keyText === undefined || keyFile === undefined) return;
  if (!pemBlocks(keyText).some((b) => b.label.endsWith("PRIVATE KEY"))) {
    problem("key_file", keyFile, "not a PEM private key (no BEGIN ... PRIVATE KEY block)");
    return;
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyText);
  } catch {
    // The parser's message could quote key material: say what, not its words.
    problem("key_file", keyFile, "the private key cannot be read (encrypted keys are not supported)");
    return;
  }
  if (leaf && !leaf.checkPrivateKey(key)) problem("key_file", keyFile, "does not match cert_file");
}

function checkCreds(file: string, at: string, now: Date, out: FileProblem[]): void {
  const problem = (message: string) => out.push({ path: at, message: `${file}: ${message}` });
  const text = read(file, problem);
  if (text === undefined) return;
  const jwt = /-{3,}[^\n]*JWT[^\n]*-{3,}\s*\n\s*([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(
    text,
  )?.[1];
  const seed = /-{3,}[^\n]*SEED[^\n]*-{3,}\s*\n\s*(S[A-Z2-7]+)/.exec(text)?.[1];
  if (!jwt || !seed) {
    problem(
      `not a NATS credentials file: it needs a "BEGIN NATS USER JWT" and a "BEGIN USER NKEY SEED" block${
        jwt ? " (no seed found)" : " (no JWT found)"
      }`,
    );
    return;
  }
  try {
    const kp = nkeys.fromSeed(new TextEncoder().encode(seed));
    if (!kp.getPublicKey().startsWith("U")) problem("the NKey seed is not a user seed (SU...)");
  } catch {
    problem("the NKey seed in it is not valid");
  }
  let claims: { exp?: number } | undefined;
  try {
    claims = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8"));
  } catch {
    problem("the user JWT in it cannot be decoded");
    return;
  }
  if (typeof claims?.exp === "number" && claims.exp * 1000 <= now.getTime()) {
    problem(`the user JWT expired on ${new Date(claims.exp * 1000).toISOString()}`);
  }
}

/** The file's text, or undefined after reporting why it cannot be read. */
function read(file: string, problem: (message: string) => void): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") problem("file not found");
    else if (code === "EACCES" || code === "EPERM") problem("permission denied (not readable by the router)");
    else if (code === "EISDIR") problem("is a directory, not a file");
    else problem(`cannot be read (${code ?? errorMessage(err)})`);
    return undefined;
  }
}

function pemBlocks(text: string): { label: string; text: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, text: m[0] }));
}

/** Why `c` is not valid at `now`, or undefined. */
function validity(c: X509Certificate, now: Date): string | undefined {
  const from = new Date(c.validFrom);
  const to = new Date(c.validTo);
  if (to.getTime() <= now.getTime()) return `expired on ${to.toISOString()}`;
  if (from.getTime() > now.getTime()) return `is not valid before ${from.toISOString()}`;
  return undefined;
}
