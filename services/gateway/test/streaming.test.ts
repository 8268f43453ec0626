import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import type { DescMessage, FileRegistry } from "@bufbuild/protobuf";
import { EventSource } from "eventsource";
import { testRegistry } from "./support/contracts.js";
import { encode, GrpcStatus, TestGateway } from "./support/harness.js";

/** Server streams over REST: grpc-gateway's NDJSON framing, Server-Sent Events, cancellation and backpressure. */
let registry: FileRegistry;
let gw: TestGateway;
let item: DescMessage;

before(async () => {
  registry = testRegistry("proto");
  item = registry.getMessage("lattice.gwtest.v1.Item")!;
  gw = await TestGateway.start(registry, ["gwtest"]);
});
after(async () => gw[Symbol.asyncDispose]());

const three = () => [1, 2, 3].map((count) => encode(item, { name: `i${count}`, count }));

describe("NDJSON (grpc-gateway's framing)", () => {
  test('one {"result": message} per line, application/json; the query binds the request', async () => {
    gw.backend.reply = () => ({ messages: three(), header: { "x-shard": "1" } });
    const response = await fetch(`${gw.url}/v1/items:watch?name=n&tags=a`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(response.headers.get("grpc-metadata-x-shard"), "1");
    const lines = (await response.text())
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { result: { count: number } });
    assert.deepEqual(
      lines.map((l) => l.result.count),
      [1, 2, 3],
    );
    assert.deepEqual(gw.backend.calls.at(-1)?.request, { name: "n", tags: ["a"] });
  });

  test("labelled application/x-ndjson when the client asks for it", async () => {
    gw.backend.reply = () => ({ messages: three() });
    const response = await fetch(`${gw.url}/v1/items:watch`, { headers: { accept: "application/x-ndjson" } });
    assert.equal(response.headers.get("content-type"), "application/x-ndjson");
    await response.text();
  });

  test('a failure after messages: HTTP 200, then {"error": google.rpc.Status} as the last line', async () => {
    gw.backend.reply = () => ({
      messages: three().slice(0, 2),
      error: { code: GrpcStatus.ABORTED, message: "conflict" },
    });
    const response = await fetch(`${gw.url}/v1/items:watch`);
    assert.equal(response.status, 200);
    const lines = (await response.text())
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[2], { error: { code: 10, message: "conflict", details: [] } });
  });

  test("a failure before any message: the code's HTTP status, the error line as the body", async () => {
    gw.backend.reply = () => ({ error: { code: GrpcStatus.NOT_FOUND, message: "no such item" } });
    const response = await fetch(`${gw.url}/v1/items:watch`);
    assert.equal(response.status, 404);
    assert.deepEqual(JSON.parse(await response.text()), { error: { code: 5, message: "no such item", details: [] } });
  });
});

describe("Server-Sent Events", () => {
  test("EventSource gets each message as a default event, then a status event with code 0", async () => {
    gw.backend.reply = () => ({ messages: three(), delayMs: 10 });
    const { messages, status } = await readEvents(`${gw.url}/v1/items:watch`);
    assert.deepEqual(
      messages.map((m) => (m as { count: number }).count),
      [1, 2, 3],
    );
    assert.deepEqual(status, { code: 0, message: "", details: [] });
  });

  test("a failure mid-stream is the status event's code", async () => {
    gw.backend.reply = () => ({
      messages: three().slice(0, 1),
      error: { code: GrpcStatus.UNAVAILABLE, message: "later" },
    });
    const { messages, status } = await readEvents(`${gw.url}/v1/items:watch`);
    assert.equal(messages.length, 1);
    assert.deepEqual(status, { code: 14, message: "later", details: [] });
  });

  test("text/event-stream framing on the wire", async () => {
    gw.backend.reply = () => ({ messages: three().slice(0, 1) });
    const response = await fetch(`${gw.url}/v1/items:watch`, { headers: { accept: "text/event-stream" } });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    assert.equal(response.headers.get("cache-control"), "no-cache");
    const text = await response.text();
    assert.match(
      text,
      /^data: \{"name":"i1",[^\n]*\}\n\nevent: status\ndata: \{"code":0,"message":"","details":\[\]\}\n\n$/,
    );
  });
});

/** Reads an SSE stream with a browser-style EventSource until its status event, then closes it. */
function readEvents(url: string): Promise<{ messages: unknown[]; status: unknown }> {
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    const messages: unknown[] = [];
    const timer = setTimeout(() => {
      source.close();
      reject(new Error("no status event within 10 s"));
    }, 10_000);
    source.onmessage = (event) => messages.push(JSON.parse(String(event.data)));
    source.addEventListener("status", (event) => {
      clearTimeout(timer);
      source.close();
      resolve({ messages, status: JSON.parse(String(event.data)) });
    });
    source.onerror = (event) => {
      clearTimeout(timer);
      source.close();
      reject(new Error(`EventSource failed: ${event.message ?? "unknown"}`));
    };
  });
}

describe("flow control", () => {
  test("a client that disconnects cancels the gRPC call", async () => {
    const many = Array.from({ length: 1000 }, (_, i) => encode(item, { count: i }));
    gw.backend.reply = () => ({ messages: many, delayMs: 20 });
    const cancelled = gw.backend.streamCancelled;
    const controller = new AbortController();
    const response = await fetch(`${gw.url}/v1/items:watch`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await Promise.race([
      cancelled,
      new Promise((_, reject) => setTimeout(() => reject(new Error("the backend call was not cancelled")), 5_000)),
    ]);
    assert.ok(gw.backend.written < 1000);
  });

  test("a reader that does not read holds the gRPC stream back (bounded memory)", async () => {
    const big = encode(item, { name: "x".repeat(64 * 1024) });
    gw.backend.reply = () => ({ messages: Array.from({ length: 2000 }, () => big) });
    const req = httpRequest(`${gw.url}/v1/items:watch`);
    const response = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      req.on("response", resolve);
      req.on("error", reject);
      req.end();
    });
    response.pause();
    await new Promise((r) => setTimeout(r, 1_500));
    const writtenWhilePaused = gw.backend.written;
    // 2000 × 64 KiB = 125 MiB would be sent without flow control; socket, HTTP/2 window and stream buffers hold a few MiB.
    assert.ok(writtenWhilePaused < 300, `the backend wrote ${writtenWhilePaused} of 2000 messages to a paused reader`);
    let received = 0;
    response.on("data", (chunk: Buffer) => (received += chunk.length));
    response.resume();
    await new Promise((resolve) => response.on("end", resolve));
    assert.equal(gw.backend.written, 2000);
    assert.ok(received > 2000 * 64 * 1024);
  });
});
