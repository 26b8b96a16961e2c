/**
 * TLS material of a provider's `tls` block, read from its files when a client is made: a renewed
 * certificate is used from the next (re)start of the provider's clients. Problems (missing,
 * unreadable) are PROVIDER_CREDENTIALS_INVALID naming the key and the path, never the content;
 * `--check-config` says more (src/providers/files.ts).
 */
import { readFileSync } from "node:fs";
import type { TlsFilesConfig } from "../../config/types.js";
import { ErrorCode, errorMessage, StreamgateError } from "../../errors.js";

/** Options for node:tls (`ca`, `cert`, `key`, `rejectUnauthorized`), as ioredis takes them. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
}

/** Reads the files of `tls`; `label` names the provider in errors. */
export function readTlsFiles(tls: TlsFilesConfig, label: string): TlsMaterial {
  const out: TlsMaterial = {};
  for (const [key, target] of [
    ["ca_file", "ca"],
    ["cert_file", "cert"],
    ["key_file", "key"],
  ] as const) {
    const path = tls[key];
    if (!path) continue;
    try {
      out[target] = readFileSync(path);
    } catch (err) {
      throw new StreamgateError(
        ErrorCode.PROVIDER_CREDENTIALS_INVALID,
        `${label}: cannot read tls.${key} ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
      );
    }
  }
  if (tls.insecure_skip_verify) out.rejectUnauthorized = false;
  return out;
}
