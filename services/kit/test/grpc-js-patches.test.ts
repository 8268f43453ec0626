import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import type { ClientHttp2Session } from "node:http2";
import { Status } from "@lattice/kit";
import { grpcJsPatches, TRAILERS_GRACE_MS } from "@lattice/kit/internal";
import {
  collect,
  eventually,
  grpcErrorOf,
  grpcFrame,
  grpcMessages,
  rawCall,
  rawConnection,
  startTestService,
  type TestService,
} from "@lattice/kit/testing";
import {
  GreeterServiceService,
  GreetRequest,
  Language,
  ListGreetingsRequest,
} from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule, plainGreeter } from "./support/test-greeter.js";

const GREET = "/lattice.greeter.v1.GreeterService/Greet";
const LIST_GREETINGS = "/lattice.greeter.v1.GreeterService/ListGreetings";
const DAY_MS = 86_400_000;
const ada = () => GreetRequest.encode({ name: "Ada", language: Language.LANGUAGE_UNSPECIFIED }).finish();

describe("the kit's grpc-js patches", () => {
  let service: TestService;
  let session: ClientHttp2Session;
  const deadlines: (Date | undefined)[] = [];
  /** ListGreetings handlers that have returned (by their request's name). */
  const handlersDone = new Set<string>();

  before(async () => {
    service = await startTestService(
      greeterModule({
        async *listGreetings(request, ctx) {
          deadlines.push(ctx.deadline);
          try {
            yield* plainGreeter.listGreetings(request, ctx);
          } finally {
            handlersDone.add(request.name);
          }
        },
      }),
    );
    session = rawConnection(service.grpcAddress);
  });
  after(async () => {
    session.close();
    await service[Symbol.asyncDispose]();
  });

  it("patches the grpc-js these tests run against, whose shipped methods still have the bugs", () => {
    // When this fails, grpc-js changed: if it fixed the bugs, drop rpc/grpc-js-patches.ts; else redo the patches.
    const require = createRequire(import.meta.url);
    const { version } = require("@grpc/grpc-js/package.json") as { version: string };
    assert.match(version, /^1\.14\./);
    assert.ok(grpcJsPatches.applied && grpcJsPatches.originals);
    assert.match(grpcJsPatches.originals.handleTimeoutHeader.toString(), /\* deadlineUnitsToMs\[match\[2\]\]\) \| 0/);
    const { BaseServerInterceptingCall } = require("@grpc/grpc-js/build/src/server-interceptors.js") as {
      BaseServerInterceptingCall: { prototype: Record<string, () => void> };
    };
    assert.match(
      BaseServerInterceptingCall.prototype.decompressAndMaybePush!.toString(),
      /readUInt8\(0\) === 1;\s*const compressedMessageEncoding = compressed\s*\? this\.incomingEncoding\s*: 'identity'/,
    );
    assert.match(grpcJsPatches.originals.decompressMessage.toString(), /if \(encoding === 'identity'\) \{\s*return/);
    // After the headers, the call is marked ended only once the trailers go, which waits for every DATA frame.
    assert.match(
      BaseServerInterceptingCall.prototype.sendStatus!.toString(),
      /this\.stream\.once\('wantTrailers', \(\) => \{[^}]*?[\s\S]*?this\.notifyOnCancel\(\);\s*\}\);\s*this\.stream\.end\(\);/,
    );
  });

  for (const read of ["eager", { bytes: 1024, everyMs: 50 }, "never"] as const) {
    const reader = typeof read === "string" ? read : "slow";
    it(`ends a server stream at its deadline, and its handler, whatever the client reads (${reader} reader)`, async () => {
      // A million greetings cannot be sent in 800 ms: the deadline ends the stream. Before the fix, a reader that
      // stopped or was slow held the trailers back with flow control for ever, and one reading fast got no
      // status either (the next message was written after the end, which broke the HTTP/2 stream).
      const name = `deadline-${reader}`;
      const request = grpcFrame(ListGreetingsRequest.encode({ name, count: 1_000_000 }).finish());
      // A connection of its own: data left unread there counts against the connection's window too.
      const own = rawConnection(service.grpcAddress);
      const started = performance.now();
      const result = await rawCall(own, LIST_GREETINGS, request, {
        headers: { "grpc-timeout": "800m" },
        read,
        timeoutMs: 10_000,
      }).finally(() => own.destroy());
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 800 + TRAILERS_GRACE_MS + 1500, `the stream ended after ${Math.round(elapsed)} ms`);
      if (result.code === undefined) {
        // Trailers stuck behind data the client does not take: the stream is reset instead.
        assert.notEqual(read, "eager", "a client that reads gets the status");
        assert.equal(result.rstCode, 8, "reset with CANCEL");
        assert.ok(elapsed >= 790, `reset before the deadline, at ${Math.round(elapsed)} ms`);
      } else {
        assert.equal(result.code, Status.DEADLINE_EXCEEDED, result.message);
      }
      if (read === "never") assert.equal(result.code, undefined, "trailers cannot pass a full flow-control window");
      await eventually(() => assert.ok(handlersDone.has(name), "the handler still runs"));
      const finished = service.logs.findLast((l) => l.msg === "finished call" && l["grpc.method"] === "ListGreetings");
      assert.equal(finished?.["grpc.code"], "DeadlineExceeded");
    });
  }

  it("keeps a call whose grpc-timeout is longer than 24.8 days (597H) alive instead of expiring it at once", async () => {
    // A stream that takes a while, so a deadline that expired at once would end it.
    const request = ListGreetingsRequest.encode({ name: "Ada", count: 2, interval: { seconds: 0, nanos: 200e6 } });
    const result = await rawCall(
      session,
      "/lattice.greeter.v1.GreeterService/ListGreetings",
      grpcFrame(request.finish()),
      {
        headers: { "grpc-timeout": "597H" },
      },
    );
    assert.equal(result.code, Status.OK, result.message);
    assert.equal(grpcMessages(result.body).length, 2);
  });

  it("streams under a client deadline 30 days out, and the handler sees that deadline", async () => {
    const deadline = new Date(Date.now() + 30 * DAY_MS);
    const greetings = await collect(
      service
        .client(GreeterServiceService)
        .listGreetings({ name: "Ada", count: 3, interval: { seconds: 0, nanos: 200e6 } }, { deadline }),
    );
    assert.equal(greetings.length, 3);
    const seen = deadlines.at(-1);
    assert.ok(seen && Math.abs(seen.getTime() - deadline.getTime()) < 60_000, `handler saw ${seen?.toISOString()}`);
  });

  it("still ends a call at a short deadline", async () => {
    const started = performance.now();
    const error = await grpcErrorOf(
      collect(
        service
          .client(GreeterServiceService)
          .listGreetings({ name: "Ada", count: 5, interval: { seconds: 1, nanos: 0 } }, { timeoutMs: 300 }),
      ),
    );
    assert.equal(error.code, Status.DEADLINE_EXCEEDED);
    assert.ok(performance.now() - started < 3_000);
  });

  it("answers a message flagged compressed without a grpc-encoding, or with an unknown flag, with INTERNAL", async () => {
    for (const [flag, headers] of [
      [1, {}],
      [1, { "grpc-encoding": "identity" }],
      [2, {}],
      [0x80, {}],
    ] as const) {
      const result = await rawCall(session, GREET, grpcFrame(ada(), flag), { headers });
      assert.equal(result.code, Status.INTERNAL, `flag ${flag} ${JSON.stringify(headers)}: ${result.message}`);
    }
  });

  it("still reads a message really compressed with the grpc-encoding it names", async () => {
    const result = await rawCall(session, GREET, grpcFrame(gzipSync(ada()), 1), {
      headers: { "grpc-encoding": "gzip" },
    });
    assert.equal(result.code, Status.OK, result.message);
  });
});
