import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createClient, DEFAULT_RETRY_SETTINGS, GrpcError, Status } from "@lattice/kit";
import { GreeterServiceService, GreetResponse, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";

/**
 * A server that dies between its response headers and its answer (SIGKILL, a node lost): gRFC A6 commits a call
 * once its headers arrive, so grpc-js's retry policy cannot take it. Lattice's clients send such a call once more
 * when the method is safe to repeat. The server here is raw HTTP/2: on the first attempt of each path it sends the
 * headers, then destroys the connection; later attempts get a real answer.
 */
describe("a unary call that fails after its response headers", () => {
  let server: Http2Server;
  let address = "";
  const attempts = new Map<string, number>();
  const grpcFrame = (message: Uint8Array) => {
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    return frame;
  };

  before(async () => {
    server = createServer();
    server.on("stream", (stream: ServerHttp2Stream, headers) => {
      const path = String(headers[":path"]);
      const n = (attempts.get(path) ?? 0) + 1;
      attempts.set(path, n);
      stream.on("data", () => undefined);
      stream.on("end", () => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        if (n === 1) {
          // Headers out, then the process "dies": the connection is reset before any answer.
          setTimeout(() => stream.session?.destroy(), 20);
          return;
        }
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(
          grpcFrame(GreetResponse.encode({ message: "Hello, Ada!", language: Language.LANGUAGE_ENGLISH }).finish()),
        );
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it("is sent once more when the method has no side effects, and succeeds", async () => {
    const client = createClient(GreeterServiceService, address, {
      retry: DEFAULT_RETRY_SETTINGS,
      defaultTimeoutMs: 5_000,
    });
    try {
      const reply = await client.greet({ name: "Ada", language: Language.LANGUAGE_ENGLISH });
      assert.equal(reply.message, "Hello, Ada!");
      assert.equal(attempts.get("/lattice.greeter.v1.GreeterService/Greet"), 2);
    } finally {
      client.close();
    }
  });

  it("is not sent again when the method is not safe to repeat (CreateUser), nor without retries", async () => {
    const users = createClient(UserServiceService, address, { retry: DEFAULT_RETRY_SETTINGS, defaultTimeoutMs: 5_000 });
    const greeter = createClient(GreeterServiceService, address, { defaultTimeoutMs: 5_000 });
    try {
      const path = "/lattice.user.v1.UserService/CreateUser";
      const error = await users
        .createUser({ user: { name: "", email: "ada@example.org", displayName: "Ada", etag: "" } })
        .then(() => assert.fail("the call succeeded"))
        .catch((caught: unknown) => caught);
      assert.ok(error instanceof GrpcError);
      assert.equal(error.code, Status.UNAVAILABLE);
      assert.equal(attempts.get(path), 1, "CreateUser has no idempotency: it was sent once");

      attempts.delete("/lattice.greeter.v1.GreeterService/Greet");
      const plain = await greeter
        .greet({ name: "Ada", language: Language.LANGUAGE_ENGLISH })
        .then(() => assert.fail("the call succeeded"))
        .catch((caught: unknown) => caught);
      assert.ok(plain instanceof GrpcError);
      assert.equal(plain.code, Status.UNAVAILABLE);
      assert.equal(attempts.get("/lattice.greeter.v1.GreeterService/Greet"), 1, "no retry settings: no replay");
    } finally {
      users.close();
      greeter.close();
    }
  });
});
