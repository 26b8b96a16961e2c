/**
 * NATS authentication material for tests, made with `@nats-io/jwt` and the NKeys it builds on
 * (`nsc` is not in Debian): NKey users for config-file accounts, and a decentralized set-up
 * (operator → account → user JWTs, a memory resolver preloaded with the accounts, and the user's
 * `.creds` file) for `credentials_file`.
 */
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
} from "@nats-io/jwt";

/** Subjects a user may publish and subscribe to. */
export interface NatsPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** An NKey user: the seed the client keeps, the public key the server knows. */
export interface NkeyUser {
  readonly seed: string;
  readonly publicKey: string;
}

export function nkeyUser(): NkeyUser {
  const kp = createUser();
  return { seed: new TextDecoder().decode(kp.getSeed()), publicKey: kp.getPublicKey() };
}

/**
 * nats-server config lines for one account `APP` holding `users` (NKey users with permissions),
 * for a server without an operator.
 */
export function nkeyAccountsConfig(
  users: readonly { user: NkeyUser; permissions: NatsPermissions }[],
): string {
  const list = users
    .map(
      ({ user, permissions }) =>
        `{ nkey: ${user.publicKey}, permissions: { publish: ${JSON.stringify(permissions.publish)}, subscribe: ${JSON.stringify(permissions.subscribe)} } }`,
    )
    .join(",\n      ");
  return `accounts {\n  APP { users: [\n      ${list}\n  ] }\n}\n`;
}

export interface OperatorSetup {
  /** nats-server config lines: operator, system account and the memory resolver. */
  readonly serverConfig: string;
  /** The user's .creds file text (user JWT + NKey seed). */
  readonly creds: string;
  /** The user JWT and seed on their own, for tests that look for them in logs. */
  readonly userJwt: string;
  readonly userSeed: string;
  /** A .creds file of a user signed by another account key the server does not know. */
  readonly strangerCreds: string;
}

/** Operator, system account, account APP and one user of APP with `permissions`. */
export async function operatorSetup(permissions: NatsPermissions): Promise<OperatorSetup> {
  const operator = createOperator();
  const sys = createAccount();
  const app = createAccount();
  const user = createUser();
  const operatorJwt = await encodeOperator("OP", operator, { system_account: sys.getPublicKey() });
  // Limits spelled out: an account JWT without them allows no connection at all.
  const limits = {
    limits: {
      conn: -1,
      subs: -1,
      data: -1,
      payload: -1,
      imports: -1,
      exports: -1,
      leaf: -1,
      wildcards: true,
    },
  };
  const sysJwt = await encodeAccount("SYS", sys, limits, { signer: operator });
  const appJwt = await encodeAccount("APP", app, limits, { signer: operator });
  const perms = {
    pub: { allow: [...permissions.publish] },
    sub: { allow: [...permissions.subscribe] },
  };
  const userJwt = await encodeUser("router", user, app, perms);
  const stranger = createUser();
  const strangerJwt = await encodeUser("stranger", stranger, createAccount(), perms);
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    serverConfig: [
      `operator: ${operatorJwt}`,
      `system_account: ${sys.getPublicKey()}`,
      "resolver: MEMORY",
      `resolver_preload: {\n  ${sys.getPublicKey()}: ${sysJwt}\n  ${app.getPublicKey()}: ${appJwt}\n}`,
      "",
    ].join("\n"),
    creds: text(fmtCreds(userJwt, user)),
    userJwt,
    userSeed: text(user.getSeed()),
    strangerCreds: text(fmtCreds(strangerJwt, stranger)),
  };
}
