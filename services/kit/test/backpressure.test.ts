import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { once } from "node:events";
import { connect, type IncomingHttpHeaders } from "node:http2";
import { defineService, type ServiceImplementation } from "@lattice/kit";
import { startTestService, testDeclaration } from "@lattice/kit/testing";
import {
  GreeterServiceService,
  Language,
  ListGreetingsRequest,
  ListGreetingsResponse,
} from "@lattice/proto/lattice/greeter/v1/greeter";

const TOTAL = 100_000;

/** A server stream that counts how many messages the server has produced so far. */
function countingModule(produced: { count: number; finished: boolean }) {
  const impl: ServiceImplementation<typeof GreeterServiceService> = {
    greet: () => ({ message: "", language: Language.LANGUAGE_UNSPECIFIED }),
    async *listGreetings(request) {
      const message = `Hello, ${request.name}!`;
      for (let sequence = 1; sequence <= request.count; sequence++) {
        produced.count = sequence;
        yield { message, language: Language.LANGUAGE_ENGLISH, sequence };
      }
      produced.finished = true;
    },
    recordGreetings: () => ({ count: 0, distinctCount: 0, message: "" }),

    async *chatGreetings() {},
  };
  return defineService({
    declaration: testDeclaration("backpressure-test", { grpcServices: ["lattice.greeter.v1.GreeterService"] }),
    setup: ({ server }) => void server.addService(GreeterServiceService, impl),
  });
}

/**
 * A client that asks for a stream and then does not read: a bare HTTP/2 stream, paused, so the only thing holding
 * the server back is HTTP/2 flow control. (grpc-js's own client keeps reading into memory even when paused.)
 */
function requestWithoutReading(address: string, request: ListGreetingsRequest) {
  const session = connect(`http://${address}`);
  const stream = session.request({
    ":method": "POST",
    ":path": GreeterServiceService.listGreetings.path,
    "content-type": "application/grpc",
    te: "trailers",
  });
  const body = ListGreetingsRequest.encode(request).finish();
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  stream.end(frame);
  stream.pause();
  return { stream, session };
}

describe("server streaming backpressure", () => {
  it("stops producing while the client does not read, and delivers everything once it does", async () => {
    const produced = { count: 0, finished: false };
    await using service = await startTestService(countingModule(produced));
    const { stream, session } = requestWithoutReading(service.grpcAddress, { name: "x".repeat(100), count: TOTAL });
    try {
      await sleep(500);
      const afterHalfSecond = produced.count;
      await sleep(1000);
      const afterOneAndHalf = produced.count;
      // Flow control stopped the producer: no progress in a second, and only a small fraction produced.
      assert.ok(afterHalfSecond > 0, "the stream started");
      assert.equal(afterOneAndHalf, afterHalfSecond, "nothing produced while the client was not reading");
      assert.ok(afterOneAndHalf < TOTAL / 10, `produced ${afterOneAndHalf} of ${TOTAL} without a reader`);

      let bytes = 0;
      stream.on("data", (chunk: Buffer) => (bytes += chunk.length));
      const trailers = new Promise<IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve));
      stream.resume();
      await once(stream, "end");
      assert.equal((await trailers)["grpc-status"], "0");
      assert.ok(produced.finished);
      const messageSize = ListGreetingsResponse.encode({
        message: `Hello, ${"x".repeat(100)}!`,
        language: Language.LANGUAGE_ENGLISH,
        sequence: TOTAL,
      }).finish().length;
      assert.ok(bytes >= TOTAL * (5 + messageSize) * 0.9, `received ${bytes} bytes for ${TOTAL} messages`);
    } finally {
      stream.destroy();
      session.close();
    }
  });
});
