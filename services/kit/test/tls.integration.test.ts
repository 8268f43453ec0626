// Transport security over real TCP connections on 127.0.0.1, with certificates openssl makes for each run (an
// integration test: it needs the openssl command).
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import {
  createClient,
  GrpcError,
  HealthService,
  ServingStatus,
  Status,
  TransportSecurity,
  type ClientOptions,
} from "@lattice/kit";
import {
  eventually,
  grpcErrorOf,
  replaceFile,
  startTestService,
  TestPki,
  type TestCa,
  type TestCertificate,
} from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "./support/test-greeter.js";

const silent = pino({ level: "silent" });
const TRUST_DOMAIN = "spiffe://lattice.test/ns/test/sa";

/** A module whose Greet answers with the caller's verified identity. */
const whoAmI = () =>
  greeterModule({
    greet: (_request, ctx) => ({
      message: `${ctx.peerIdentity?.service ?? "-"} ${ctx.peerIdentity?.spiffeId ?? "-"}`,
      language: Language.LANGUAGE_UNSPECIFIED,
    }),
  });

interface ClientFiles {
  readonly caFile: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** Client options as connect() makes them: the kit's TransportSecurity over the given files. */
function tlsClient(files: ClientFiles, serverName = "greeter"): { options: ClientOptions; close(): void } {
  const transport = new TransportSecurity(
    {
      TLS_MODE: files.certFile ? "mtls" : "tls",
      TLS_CA_FILE: files.caFile,
      // "tls" mode needs no client certificate; the CA file stands in for the unused identity files.
      TLS_CERT_FILE: files.certFile ?? files.caFile,
      TLS_KEY_FILE: files.keyFile ?? files.caFile,
      TLS_REFRESH_MS: 200,
      TLS_LOAD_TIMEOUT_MS: 5_000,
    },
    silent,
  );
  return {
    options: {
      credentials: transport.channelCredentials(),
      channelOptions: transport.channelOptions(serverName),
      defaultTimeoutMs: 3_000,
    },
    close: () => transport.close(),
  };
}

/**
 * What becomes of a raw TLS connection from a client presenting `files`: "open" when it is still up 500 ms after the
 * handshake, else how it ended (the server's alert, or "closed"). In TLS 1.3 the server checks the client's
 * certificate after the client has finished its side, so a refusal shows up after "secureConnect".
 */
function handshake(address: string, files: ClientFiles): Promise<string> {
  const colon = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      servername: "greeter",
      ca: readFileSync(files.caFile),
      ...(files.certFile && files.keyFile
        ? { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) }
        : {}),
      ALPNProtocols: ["h2"],
    });
    socket.on("secureConnect", () =>
      setTimeout(() => {
        resolve("open");
        socket.destroy();
      }, 500),
    );
    socket.on("error", (error: Error) => resolve(error.message));
    socket.on("close", () => resolve("closed"));
  });
}

function serverEnv(files: TestCertificate, mode: "tls" | "mtls" = "mtls"): Record<string, string> {
  return {
    TLS_MODE: mode,
    TLS_CERT_FILE: files.certFile,
    TLS_KEY_FILE: files.keyFile,
    TLS_CA_FILE: files.caFile,
    TLS_REFRESH_MS: "200",
  };
}

const hello = { name: "Ada", language: Language.LANGUAGE_UNSPECIFIED };

describe("mutual TLS on the gRPC port", () => {
  let pki: TestPki;
  let ca: TestCa;
  let otherCa: TestCa;
  let serverCert: TestCertificate;
  let orderCert: TestCertificate;
  before(async () => {
    pki = await TestPki.create();
    ca = await pki.ca("lattice-test-ca");
    otherCa = await pki.ca("other-ca");
    serverCert = await pki.leaf(ca, "greeter", { dnsNames: ["greeter"], uris: [`${TRUST_DOMAIN}/greeter`] });
    orderCert = await pki.leaf(ca, "order", { dnsNames: ["order", "order.test.svc"], uris: [`${TRUST_DOMAIN}/order`] });
  });
  after(() => pki.remove());

  it("accepts a client certificate from the CA and hands its identity to the handler", async () => {
    await using service = await startTestService(whoAmI(), { env: serverEnv(serverCert) });
    const client = tlsClient(orderCert);
    const greeter = service.client(GreeterServiceService, client.options);
    const { message } = await greeter.greet(hello);
    assert.equal(message, `order ${TRUST_DOMAIN}/order`);
    assert.equal(await handshake(service.grpcAddress, orderCert), "open");
    client.close();
  });

  const now = () => Date.now();
  const refused: [string, () => Promise<ClientFiles>, (cert: X509Certificate) => boolean][] = [
    ["no client certificate", async () => ({ caFile: ca.certFile }), () => true],
    [
      "a certificate from another CA",
      async () => pki.leaf(otherCa, "order", { dnsNames: ["order"] }),
      (cert) => !cert.checkIssued(new X509Certificate(readFileSync(ca.certFile))),
    ],
    [
      "an expired certificate",
      async () =>
        pki.leaf(ca, "order", {
          dnsNames: ["order"],
          notBefore: new Date(now() - 3 * 86_400_000),
          notAfter: new Date(now() - 86_400_000),
        }),
      (cert) => new Date(cert.validTo).getTime() < now(),
    ],
    [
      "a certificate not valid yet",
      async () =>
        pki.leaf(ca, "order", {
          dnsNames: ["order"],
          notBefore: new Date(now() + 86_400_000),
          notAfter: new Date(now() + 2 * 86_400_000),
        }),
      (cert) => new Date(cert.validFrom).getTime() > now(),
    ],
  ];
  for (const [what, files, isWhatItSays] of refused)
    it(`refuses a client with ${what}`, async () => {
      await using service = await startTestService(whoAmI(), { env: serverEnv(serverCert) });
      const presented = { ...(await files()), caFile: ca.certFile };
      if (presented.certFile)
        assert.ok(isWhatItSays(new X509Certificate(readFileSync(presented.certFile))), `not ${what}`);
      const client = tlsClient(presented);
      const error = await grpcErrorOf(service.client(GreeterServiceService, client.options).greet(hello));
      assert.equal(error.code, Status.UNAVAILABLE, error.message);
      // The server hangs up during the handshake (a valid client's connection stays open: see the first test).
      assert.notEqual(await handshake(service.grpcAddress, presented), "open");
      // Nothing reached the handler: no call was logged as finished.
      assert.equal(service.logs.filter((line) => line.msg === "finished call").length, 0);
      client.close();
    });

  it("refuses a server whose certificate does not name the service dialed (wrong SAN)", async () => {
    const impostor = await pki.leaf(ca, "user", { dnsNames: ["user"], uris: [`${TRUST_DOMAIN}/user`] });
    await using service = await startTestService(whoAmI(), { env: serverEnv(impostor) });
    const client = tlsClient(orderCert, "greeter");
    const error = await grpcErrorOf(service.client(GreeterServiceService, client.options).greet(hello));
    assert.equal(error.code, Status.UNAVAILABLE);
    assert.match(error.message, /altnames|does not match/i);
    client.close();
  });

  it("refuses a plaintext client", async () => {
    await using service = await startTestService(whoAmI(), { env: serverEnv(serverCert) });
    const plain = createClient(GreeterServiceService, service.grpcAddress, { defaultTimeoutMs: 3_000 });
    const error = await grpcErrorOf(plain.greet(hello));
    assert.equal(error.code, Status.UNAVAILABLE);
    plain.close();
  });

  it("serves TLS without client certificates in tls mode (no peer identity)", async () => {
    await using service = await startTestService(whoAmI(), { env: serverEnv(serverCert, "tls") });
    const client = tlsClient({ caFile: ca.certFile });
    assert.equal((await service.client(GreeterServiceService, client.options).greet(hello)).message, "- -");
    client.close();
  });

  it("keeps health plaintext: the health port answers without TLS while the gRPC port requires it", async () => {
    await using service = await startTestService(whoAmI(), { env: serverEnv(serverCert) });
    const response = await fetch(`${service.adminUrl}/readyz`);
    assert.equal(response.status, 200);
    const health = createClient(HealthService, service.healthAddress, { defaultTimeoutMs: 3_000 });
    assert.equal((await health.check({ service: "readiness" })).status, ServingStatus.SERVING);
    health.close();
  });
});

describe("certificate rotation", () => {
  let pki: TestPki;
  before(async () => {
    pki = await TestPki.create();
  });
  after(() => pki.remove());

  /** Live copies of a certificate's files, replaced in place as the kubelet updates a mounted Secret. */
  function mounted(name: string, files: TestCertificate): TestCertificate {
    const dir = join(pki.directory, `mounted-${name}`);
    mkdirSync(dir, { recursive: true });
    const live = { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key"), caFile: join(dir, "ca.crt") };
    copyFileSync(files.certFile, live.certFile);
    copyFileSync(files.keyFile, live.keyFile);
    copyFileSync(files.caFile, live.caFile);
    return live;
  }

  /** The fingerprint of the certificate a brand-new TLS connection to `address` is shown. */
  function presented(address: string, client: TestCertificate): Promise<string> {
    const [host, port] = [
      address.slice(0, address.lastIndexOf(":")),
      Number(address.slice(address.lastIndexOf(":") + 1)),
    ];
    return new Promise((resolve, reject) => {
      const socket = tlsConnect(
        {
          host,
          port,
          servername: "greeter",
          ca: readFileSync(client.caFile),
          cert: readFileSync(client.certFile),
          key: readFileSync(client.keyFile),
          ALPNProtocols: ["h2"],
          // Only which certificate is shown matters here, not whether this probe trusts it.
          rejectUnauthorized: false,
        },
        () => {
          resolve(socket.getPeerCertificate().fingerprint256);
          socket.end();
        },
      );
      socket.on("error", reject);
    });
  }

  const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

  it("serves new connections with the new certificate and CA while an open stream carries on", async () => {
    const oldCa = await pki.ca("old-ca");
    const newCa = await pki.ca("new-ca");
    const oldServer = await pki.leaf(oldCa, "greeter", { dnsNames: ["greeter"] });
    const newServer = await pki.leaf(newCa, "greeter", { dnsNames: ["greeter"] });
    const oldClient = await pki.leaf(oldCa, "order", { dnsNames: ["order"] });
    const newClient = await pki.leaf(newCa, "order", { dnsNames: ["order"] });
    const live = mounted("server", oldServer);
    await using service = await startTestService(whoAmI(), { env: serverEnv(live) });

    // A bidi stream opened before the rotation, fed one name at a time.
    const streaming = tlsClient(oldClient);
    const names: string[] = [];
    let push: (() => void) | undefined;
    let closed = false;
    async function* requests() {
      for (;;) {
        while (names.length === 0 && !closed) await new Promise<void>((resolve) => (push = resolve));
        const name = names.shift();
        if (name === undefined) return;
        yield { name, language: Language.LANGUAGE_UNSPECIFIED };
      }
    }
    const send = (name: string) => {
      names.push(name);
      push?.();
    };
    const chat = service
      .client(GreeterServiceService, { ...streaming.options, defaultTimeoutMs: 30_000 })
      .chatGreetings(requests());
    const replies = chat[Symbol.asyncIterator]();
    const nextReply = async () => {
      const reply = await replies.next();
      return reply.done ? undefined : reply.value.message;
    };
    send("before");
    assert.equal(await nextReply(), "before");
    assert.equal(await presented(service.grpcAddress, oldClient), fingerprint(oldServer.certFile));

    // Rotate: a new CA, the server's certificate from it, and a bundle trusting both while clients move over.
    const bundle = pki.bundle("both", oldCa, newCa);
    replaceFile(live.caFile, bundle);
    replaceFile(live.keyFile, newServer.keyFile);
    replaceFile(live.certFile, newServer.certFile);

    const expected = fingerprint(newServer.certFile);
    await eventually(async () => assert.equal(await presented(service.grpcAddress, oldClient), expected));
    // A client of the new CA only is now served; one trusting only the old CA no longer is.
    const fresh = tlsClient(newClient);
    assert.equal((await service.client(GreeterServiceService, fresh.options).greet(hello)).message, "order -");
    const stale = tlsClient({ caFile: oldCa.certFile, certFile: oldClient.certFile, keyFile: oldClient.keyFile });
    assert.equal(
      (await grpcErrorOf(service.client(GreeterServiceService, stale.options).greet(hello))).code,
      Status.UNAVAILABLE,
    );
    assert.ok(service.logs.some((line) => line.msg.startsWith("TLS certificate rotated")));

    // The stream opened on the old certificate still works, and ends normally.
    send("after");
    assert.equal(await nextReply(), "after");
    closed = true;
    push?.();
    assert.equal((await replies.next()).done, true);
    for (const client of [streaming, fresh, stale]) client.close();
  });

  it("rotates a client's own certificate: new connections present the new one", async () => {
    const ca = await pki.ca("client-rotation-ca");
    const server = await pki.leaf(ca, "greeter", { dnsNames: ["greeter"] });
    const alpha = await pki.leaf(ca, "alpha", { dnsNames: ["alpha"] });
    const beta = await pki.leaf(ca, "beta", { dnsNames: ["beta"] });
    await using service = await startTestService(whoAmI(), { env: serverEnv(server) });
    const live = mounted("client", alpha);
    const client = tlsClient(live);
    const first = service.client(GreeterServiceService, client.options);
    assert.equal((await first.greet(hello)).message, "alpha -");

    replaceFile(live.keyFile, beta.keyFile);
    replaceFile(live.certFile, beta.certFile);
    // Clients sharing the same watched files (as connect()'s do) present beta on their next connection (a local
    // subchannel pool, or grpc-js would reuse the open connection; servers close connections after
    // GRPC_MAX_CONNECTION_AGE_MS, so long-lived clients reconnect too)...
    await eventually(async () => {
      const next = createClient(GreeterServiceService, service.grpcAddress, {
        ...client.options,
        channelOptions: { ...client.options.channelOptions, "grpc.use_local_subchannel_pool": 1 },
      });
      try {
        assert.equal((await next.greet(hello)).message, "beta -");
      } finally {
        next.close();
      }
    });
    // ...and the connection made before keeps the certificate it was made with.
    assert.equal((await first.greet(hello)).message, "alpha -");
    client.close();
  });

  it("waits for the certificate files before serving, and fails the start when they never come", async () => {
    const ca = await pki.ca("late-ca");
    const server = await pki.leaf(ca, "greeter", { dnsNames: ["greeter"] });
    const dir = join(pki.directory, "late");
    mkdirSync(dir);
    const live = { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key"), caFile: join(dir, "ca.crt") };
    const starting = startTestService(whoAmI(), { env: serverEnv(live) });
    setTimeout(() => {
      copyFileSync(server.caFile, live.caFile);
      copyFileSync(server.keyFile, live.keyFile);
      copyFileSync(server.certFile, live.certFile);
    }, 500).unref();
    await using service = await starting;
    const client = tlsClient(await pki.leaf(ca, "order", { dnsNames: ["order"] }));
    assert.equal((await service.client(GreeterServiceService, client.options).greet(hello)).message, "order -");
    client.close();

    const never = join(pki.directory, "never");
    const error = await startTestService(whoAmI(), {
      env: {
        ...serverEnv({ certFile: `${never}.crt`, keyFile: `${never}.key`, caFile: `${never}-ca.crt` }),
        TLS_LOAD_TIMEOUT_MS: "600",
      },
    }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof Error && !(error instanceof GrpcError));
    assert.match(error.message, /TLS certificate files not usable after 600 ms.*TLS_CERT_FILE=/);
  });
});
