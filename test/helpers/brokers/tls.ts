/**
 * Certificates for TLS tests, made with the `openssl` command (Debian's package, installed when
 * missing): a CA, a server certificate for localhost / 127.0.0.1, a client certificate signed by
 * the CA (mutual TLS), a second CA with a client certificate of its own (the "wrong certificate"),
 * and an expired client certificate. EC P-256 keys: quick to make.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureBinary } from "./ensure.js";

const run = promisify(execFile);

export interface TestPki {
  readonly dir: string;
  /** The CA that signed server, client and expired. */
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA nobody trusts, and a client certificate it signed. */
  readonly rogueCa: string;
  readonly rogueCert: string;
  readonly rogueKey: string;
  /** Signed by `ca`, valid in January 2020 only. */
  readonly expiredCert: string;
  readonly expiredKey: string;
  remove(): Promise<void>;
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes the certificates in a fresh temporary folder. */
export async function makePki(): Promise<TestPki> {
  const openssl = await ensureBinary("openssl", "openssl");
  const dir = await mkdtemp(join(tmpdir(), "streamgate-pki-"));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => run(openssl, args, { cwd: dir });
  const selfSigned = (name: string, cn: string) =>
    ssl(
      "req",
      "-x509",
      ...KEY,
      "-keyout",
      f(`${name}-key.pem`),
      "-out",
      f(`${name}.pem`),
      "-days",
      "3",
      "-subj",
      `/CN=${cn}`,
    );
  const request = (name: string, cn: string) =>
    ssl("req", ...KEY, "-keyout", f(`${name}-key.pem`), "-out", f(`${name}.csr`), "-subj", `/CN=${cn}`);
  const sign = (name: string, ca: string, ext: string) =>
    ssl(
      "x509",
      "-req",
      "-in",
      f(`${name}.csr`),
      "-CA",
      f(`${ca}.pem`),
      "-CAkey",
      f(`${ca}-key.pem`),
      "-CAcreateserial",
      "-out",
      f(`${name}.pem`),
      "-days",
      "3",
      "-extfile",
      f(ext),
    );
  await writeFile(
    f("server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await writeFile(f("client.ext"), "extendedKeyUsage=clientAuth\n");
  await selfSigned("ca", "streamgate test CA");
  await selfSigned("rogue-ca", "rogue CA");
  for (const [name, cn, ca, ext] of [
    ["server", "localhost", "ca", "server.ext"],
    ["client", "router", "ca", "client.ext"],
    ["rogue", "router", "rogue-ca", "client.ext"],
  ] as const) {
    await request(name, cn);
    await sign(name, ca, ext);
  }
  // `openssl ca` is the one way (OpenSSL 3.0) to set dates in the past.
  await writeFile(
    f("ca.cnf"),
    "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n",
  );
  await writeFile(f("index.txt"), "");
  await writeFile(f("serial"), "1000\n");
  await request("expired", "router");
  await ssl(
    "ca",
    "-batch",
    "-config",
    f("ca.cnf"),
    "-cert",
    f("ca.pem"),
    "-keyfile",
    f("ca-key.pem"),
    "-in",
    f("expired.csr"),
    "-out",
    f("expired.pem"),
    "-notext",
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
  );
  return {
    dir,
    ca: f("ca.pem"),
    serverCert: f("server.pem"),
    serverKey: f("server-key.pem"),
    clientCert: f("client.pem"),
    clientKey: f("client-key.pem"),
    rogueCa: f("rogue-ca.pem"),
    rogueCert: f("rogue.pem"),
    rogueKey: f("rogue-key.pem"),
    expiredCert: f("expired.pem"),
    expiredKey: f("expired-key.pem"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
