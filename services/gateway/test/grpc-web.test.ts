import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, toBinary, type DescMessage, type DescService, type FileRegistry } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type CallOptions } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { decodeText, frame, singleMessage, trailerFrame } from "../src/grpc/grpc-web.js";
import { testRegistry } from "./support/contracts.js";
import { encode, GrpcStatus, TestGateway } from "./support/harness.js";

/** gRPC-Web through the gateway, with a real gRPC-Web client (connect-web's transport, over fetch). */
let registry: FileRegistry;
let gw: TestGateway;
let item: DescMessage;
let service: DescService;

before(async () => {
  registry = testRegistry("proto");
  item = registry.getMessage("lattice.gwtest.v1.Item")!;
  service = registry.getService("lattice.gwtest.v1.TestService")!;
  gw = await TestGateway.start(registry, ["gwtest"]);
});
after(async () => gw[Symbol.asyncDispose]());

type Method = (request: object, options?: CallOptions) => Promise<object> & AsyncIterable<object>;

/** A connect client of the test service; its method types come from a runtime descriptor, so they are loose. */
function client(): Record<"getItem" | "watchItems", Method> {
  return createClient(service, createGrpcWebTransport({ baseUrl: gw.url })) as unknown as Record<
    "getItem" | "watchItems",
    Method
  >;
}

describe("gRPC-Web", () => {
  test("unary: the message reaches the backend as it is, headers become metadata, the answer comes back", async () => {
    gw.backend.reply = () => ({ messages: [encode(item, { name: "back", id: 7n })], header: { "x-shard": "3" } });
    let shard: string | null = null;
    const answer = (await client().getItem(
      { name: "there", tags: ["t"] },
      { headers: { authorization: "Bearer w" }, onHeader: (h: Headers) => (shard = h.get("x-shard")) },
    )) as { name: string; id: bigint };
    assert.equal(answer.name, "back");
    assert.equal(answer.id, 7n);
    assert.equal(shard, "3");
    const call = gw.backend.calls.at(-1)!;
    assert.equal(call.method, "GetItem");
    assert.deepEqual(call.request, { name: "there", tags: ["t"] });
    assert.deepEqual(call.metadata.get("authorization"), ["Bearer w"]);
  });

  test("server streaming, trailers at the end of the body", async () => {
    gw.backend.reply = () => ({
      messages: [1, 2, 3].map((count) => encode(item, { count })),
      trailer: { "x-total": "3" },
    });
    let total: string | null = null;
    const counts: number[] = [];
    for await (const message of client().watchItems({}, { onTrailer: (t: Headers) => (total = t.get("x-total")) }))
      counts.push((message as { count: number }).count);
    assert.deepEqual(counts, [1, 2, 3]);
    assert.equal(total, "3");
  });

  test("grpc-web-text: base64 both ways, each response frame its own padded chunk", async () => {
    gw.backend.reply = () => ({ messages: [encode(item, { name: "text" })] });
    const response = await fetch(`${gw.url}/lattice.gwtest.v1.TestService/GetItem`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web-text", "x-grpc-web": "1" },
      body: frame(0, encode(item, { name: "t" })).toString("base64"),
    });
    assert.equal(response.headers.get("content-type"), "application/grpc-web-text+proto");
    const body = decodeText(Buffer.from(await response.text()));
    const length = body.readUInt32BE(1);
    assert.equal(body[0], 0);
    assert.deepEqual(body.subarray(5, 5 + length), Buffer.from(encode(item, { name: "text" })));
    assert.equal(body[5 + length], 0x80);
    assert.match(body.subarray(10 + length).toString(), /^grpc-status: 0\r\n/);
    assert.deepEqual(gw.backend.calls.at(-1)?.request, { name: "t" });
  });

  test("another codec than proto (grpc-web+json) is refused as UNIMPLEMENTED, not forwarded", async () => {
    gw.backend.calls.length = 0;
    const response = await fetch(`${gw.url}/lattice.gwtest.v1.TestService/GetItem`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+json" },
      body: frame(0, Buffer.from("{}")),
    });
    assert.match(Buffer.from(await response.arrayBuffer()).toString("latin1"), /grpc-status: 12\r\n/);
    assert.equal(gw.backend.calls.length, 0);
  });

  test("an error keeps its code, message and details", async () => {
    const status = registry.getMessage("google.rpc.Status")!;
    const badRequest = registry.getMessage("google.rpc.BadRequest")!;
    const detail = anyPack(
      badRequest,
      create(badRequest, { fieldViolations: [{ field: "name", description: "bad" }] }),
    );
    const details = toBinary(status, create(status, { code: 3, message: "name: bad", details: [detail] }));
    gw.backend.reply = () => ({ error: { code: GrpcStatus.INVALID_ARGUMENT, message: "name: bad", details } });
    await assert.rejects(client().getItem({ name: "" }), (error: unknown) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, Code.InvalidArgument);
      assert.equal(error.rawMessage, "name: bad");
      assert.equal(error.details.length, 1);
      return true;
    });
  });

  test("an unknown method is UNIMPLEMENTED; client streaming is refused", async () => {
    const response = await fetch(`${gw.url}/lattice.gwtest.v1.TestService/Nope`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: frame(0, new Uint8Array()),
    });
    assert.equal(response.status, 200);
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(body[0], 0x80);
    assert.match(body.subarray(5).toString(), /grpc-status: 12\r\n/);
    const upload = await fetch(`${gw.url}/lattice.gwtest.v1.TestService/UploadItems`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: frame(0, new Uint8Array()),
    });
    assert.match(Buffer.from(await upload.arrayBuffer()).toString("latin1"), /grpc-status: 12\r\n/);
  });

  test("CORS preflight for a browser's gRPC-Web call", async () => {
    const response = await fetch(`${gw.url}/lattice.gwtest.v1.TestService/GetItem`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,x-user-agent,grpc-timeout",
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(
      response.headers.get("access-control-allow-headers"),
      "content-type,x-grpc-web,x-user-agent,grpc-timeout",
    );
  });
});

describe("gRPC-Web framing", () => {
  test("one message frame in, anything else refused", () => {
    assert.deepEqual(singleMessage(frame(0, Buffer.from([1, 2]))), Buffer.from([1, 2]));
    assert.throws(
      () => singleMessage(Buffer.concat([frame(0, Buffer.from([1])), frame(0, Buffer.from([2]))])),
      /exactly one/,
    );
    assert.throws(() => singleMessage(frame(1, Buffer.from([1]))), /compressed/);
    assert.throws(() => singleMessage(Buffer.from([0, 0])), /one message frame/);
  });

  test("text: several padded base64 chunks one after the other", () => {
    const a = frame(0, Buffer.from("a"));
    const b = frame(0x80, Buffer.from("b"));
    const text = Buffer.from(a.toString("base64") + b.toString("base64"));
    assert.deepEqual(decodeText(text), Buffer.concat([a, b]));
  });

  test("the trailer frame percent-encodes grpc-message", () => {
    const trailer = trailerFrame(3, "bad: 100% ünicode", undefined);
    assert.equal(trailer[0], 0x80);
    assert.equal(
      trailer.subarray(5).toString("latin1"),
      "grpc-status: 3\r\ngrpc-message: bad: 100%25 %C3%BCnicode\r\n",
    );
  });
});
