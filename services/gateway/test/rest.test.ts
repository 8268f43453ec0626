import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  create,
  toBinary,
  type DescMessage,
  type DescMethod,
  type FileRegistry,
  type JsonValue,
} from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { testRegistry } from "./support/contracts.js";
import { encode, GrpcStatus, TestGateway, type Reply } from "./support/harness.js";

/**
 * REST request → the gRPC request the backend receives, and backend answer → the REST response, for every kind of
 * google.api.http rule the gateway implements, its error mapping and its header mapping.
 */
let registry: FileRegistry;
let gw: TestGateway;
let item: DescMessage;
let searchResponse: DescMessage;

before(async () => {
  registry = testRegistry("proto");
  item = registry.getMessage("lattice.gwtest.v1.Item")!;
  searchResponse = registry.getMessage("lattice.gwtest.v1.SearchResponse")!;
  gw = await TestGateway.start(registry, ["gwtest"]);
});
after(async () => gw[Symbol.asyncDispose]());

interface RequestCase {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** The gRPC method and request (proto3 JSON, defaults left out) the backend must receive. */
  readonly grpc: { method: string; request: JsonValue };
}

const requestCases: RequestCase[] = [
  {
    name: "GET, multi-segment variable",
    method: "GET",
    path: "/v1/shelves/s1/items/i%202",
    grpc: { method: "GetItem", request: { name: "shelves/s1/items/i 2" } },
  },
  {
    name: "additional binding, single-segment variable decoded fully (%2F included)",
    method: "GET",
    path: "/v1/items/a%2Fb",
    grpc: { method: "GetItem", request: { name: "a/b" } },
  },
  {
    name: "PUT body *: the whole message, the path wins for its field",
    method: "PUT",
    path: "/v1/items/i1",
    body: JSON.stringify({
      name: "ignored",
      id: "42",
      kind: "KIND_BOOK",
      tags: ["a", "b"],
      nested: { displayName: "N" },
    }),
    grpc: {
      method: "PutItem",
      request: { name: "items/i1", id: "42", kind: "KIND_BOOK", tags: ["a", "b"], nested: { displayName: "N" } },
    },
  },
  {
    name: "body * takes proto names too, and ignores unknown fields; the query is not read",
    method: "PUT",
    path: "/v1/items/i1?count=9",
    body: JSON.stringify({ display: 1, nested: { display_name: "P" }, created: "2024-05-01T10:00:00Z" }),
    grpc: {
      method: "PutItem",
      request: { name: "items/i1", nested: { displayName: "P" }, created: "2024-05-01T10:00:00Z" },
    },
  },
  {
    name: "PATCH body field, nested path variable, other fields from the query",
    method: "PATCH",
    path: "/v1/items/i7?reason=rename",
    body: JSON.stringify({ name: "x", count: 3 }),
    grpc: { method: "UpdateItem", request: { item: { name: "items/i7", count: 3 }, reason: "rename" } },
  },
  {
    name: "DELETE, int64 from the path",
    method: "DELETE",
    path: "/v1/things/9007199254740993",
    grpc: { method: "DeleteItem", request: { id: "9007199254740993" } },
  },
  {
    name: "custom method, every query kind: repeated by repeating the key, enum by name and number, nested dotted (JSON and proto names), map entry, bool, bytes",
    method: "SEARCH",
    path: "/v1/items?tags=a&tags=b&kind=2&nested.displayName=D&nested.depth=3&labels[env]=prod&flag=true&blob=AQI%3D&created=2024-01-02T03:04:05Z&unknown=1",
    grpc: {
      method: "ListItems",
      request: {
        tags: ["a", "b"],
        kind: "KIND_DISC",
        nested: { displayName: "D", depth: 3 },
        labels: { env: "prod" },
        flag: true,
        blob: "AQI=",
        created: "2024-01-02T03:04:05Z",
      },
    },
  },
  {
    name: "** takes any number of segments, %2F kept encoded inside",
    method: "GET",
    path: "/v1/files/a/b%2Fc/d.txt",
    grpc: { method: "GetFile", request: { name: "a/b%2Fc/d.txt" } },
  },
  {
    name: "verb",
    method: "POST",
    path: "/v1/items/i3:archive",
    body: "{}",
    grpc: { method: "ArchiveItem", request: { name: "items/i3" } },
  },
  {
    name: "query: repeated enums, nested message, Duration, uint64 beyond 2^53, repeated int32",
    method: "GET",
    path: "/v1/search?query=q&kinds=KIND_BOOK&kinds=1&filter.display_name=f&within=1.5s&limit=18446744073709551615&pages=1&pages=2",
    grpc: {
      method: "Search",
      request: {
        query: "q",
        kinds: ["KIND_BOOK", "KIND_BOOK"],
        filter: { displayName: "f" },
        within: "1.500s",
        limit: "18446744073709551615",
        pages: [1, 2],
      },
    },
  },
  {
    name: "an empty body for body * is an empty message (as grpc-gateway)",
    method: "POST",
    path: "/v1/items/i4:archive",
    grpc: { method: "ArchiveItem", request: { name: "items/i4" } },
  },
];

describe("REST request → gRPC request", () => {
  for (const c of requestCases)
    test(c.name, async () => {
      gw.backend.calls.length = 0;
      gw.backend.reply = () => ({ messages: [encode(item, {})] });
      const response = await fetch(gw.url + c.path, { method: c.method, body: c.body, headers: c.headers });
      assert.equal(response.status, 200, await response.clone().text());
      assert.equal(gw.backend.calls.length, 1);
      assert.equal(gw.backend.calls[0]!.method, c.grpc.method);
      assert.deepEqual(gw.backend.calls[0]!.request, c.grpc.request);
    });
});

describe("gRPC answer → REST response", () => {
  test("lowerCamelCase names, every field with its default, int64 as a string, enums by name, timestamps", async () => {
    gw.backend.reply = () => ({
      messages: [
        encode(item, { name: "items/1", id: 5n, kind: 1, nested: { displayName: "N" }, created: { seconds: 0n } }),
      ],
    });
    const response = await fetch(`${gw.url}/v1/items/1`);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.deepEqual(await response.json(), {
      name: "items/1",
      id: "5",
      kind: "KIND_BOOK",
      tags: [],
      nested: { displayName: "N", depth: 0 },
      created: "1970-01-01T00:00:00Z",
      flag: false,
      count: 0,
      labels: {},
      blob: "",
    });
  });

  test("response_body: only that field", async () => {
    gw.backend.reply = () => ({
      messages: [encode(searchResponse, { results: [{ name: "a" }], nextPageToken: "t" })],
    });
    const body = (await (await fetch(`${gw.url}/v1/search?query=x`)).json()) as { name: string }[];
    assert.ok(Array.isArray(body));
    assert.equal(body[0]!.name, "a");
  });
});

interface ErrorCase {
  readonly code: GrpcStatus;
  readonly http: number;
}
const errorCases: ErrorCase[] = [
  { code: GrpcStatus.CANCELLED, http: 499 },
  { code: GrpcStatus.UNKNOWN, http: 500 },
  { code: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  { code: GrpcStatus.DEADLINE_EXCEEDED, http: 504 },
  { code: GrpcStatus.NOT_FOUND, http: 404 },
  { code: GrpcStatus.ALREADY_EXISTS, http: 409 },
  { code: GrpcStatus.PERMISSION_DENIED, http: 403 },
  { code: GrpcStatus.RESOURCE_EXHAUSTED, http: 429 },
  { code: GrpcStatus.FAILED_PRECONDITION, http: 400 },
  { code: GrpcStatus.ABORTED, http: 409 },
  { code: GrpcStatus.OUT_OF_RANGE, http: 400 },
  { code: GrpcStatus.UNIMPLEMENTED, http: 501 },
  { code: GrpcStatus.INTERNAL, http: 500 },
  { code: GrpcStatus.UNAVAILABLE, http: 503 },
  { code: GrpcStatus.DATA_LOSS, http: 500 },
  { code: GrpcStatus.UNAUTHENTICATED, http: 401 },
];

describe("gRPC status → HTTP status, body google.rpc.Status", () => {
  for (const c of errorCases)
    test(`code ${c.code} → ${c.http}`, async () => {
      gw.backend.reply = () => ({ error: { code: c.code, message: `failed with ${c.code}` } });
      const response = await fetch(`${gw.url}/v1/items/1`);
      assert.equal(response.status, c.http);
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.deepEqual(await response.json(), { code: c.code, message: `failed with ${c.code}`, details: [] });
      if (c.http === 401) assert.equal(response.headers.get("www-authenticate"), `failed with ${c.code}`);
    });

  test("BadRequest field violations reach the REST client intact", async () => {
    const status = registry.getMessage("google.rpc.Status")!;
    const badRequest = registry.getMessage("google.rpc.BadRequest")!;
    const detail = anyPack(
      badRequest,
      create(badRequest, { fieldViolations: [{ field: "name", description: "must not be empty" }] }),
    );
    const details = toBinary(
      status,
      create(status, { code: 3, message: "name: must not be empty", details: [detail] }),
    );
    gw.backend.reply = () => ({
      error: { code: GrpcStatus.INVALID_ARGUMENT, message: "name: must not be empty", details },
    });
    const response = await fetch(`${gw.url}/v1/items/1`);
    assert.equal(response.status, 400);
    const body = (await response.json()) as { details: { "@type": string; fieldViolations: unknown[] }[] };
    assert.equal(body.details[0]!["@type"], "type.googleapis.com/google.rpc.BadRequest");
    assert.deepEqual(body.details[0]!.fieldViolations, [
      { field: "name", description: "must not be empty", reason: "" },
    ]);
  });
});

describe("the gateway's own errors", () => {
  const cases: {
    name: string;
    method: string;
    path: string;
    body?: string;
    status: number;
    code: number;
    field?: string;
  }[] = [
    { name: "unknown route", method: "GET", path: "/v2/nothing", status: 404, code: 5 },
    { name: "wrong method", method: "DELETE", path: "/v1/search", status: 405, code: 12 },
    { name: "malformed JSON", method: "PUT", path: "/v1/items/a", body: "{nope", status: 400, code: 3, field: "body" },
    {
      name: "wrong JSON type, named by field",
      method: "PUT",
      path: "/v1/items/a",
      body: '{"count":"many"}',
      status: 400,
      code: 3,
      field: "count",
    },
    { name: "bad query value", method: "GET", path: "/v1/search?limit=-1", status: 400, code: 3, field: "limit" },
    {
      name: "bad enum in query",
      method: "GET",
      path: "/v1/search?kinds=KIND_NONE",
      status: 400,
      code: 3,
      field: "kinds",
    },
    { name: "bad bool in query", method: "SEARCH", path: "/v1/items?flag=maybe", status: 400, code: 3, field: "flag" },
    {
      name: "two values for a singular field",
      method: "GET",
      path: "/v1/search?query=a&query=b",
      status: 400,
      code: 3,
      field: "query",
    },
    {
      name: "a message named as a query value",
      method: "GET",
      path: "/v1/search?filter=x",
      status: 400,
      code: 3,
      field: "filter",
    },
    { name: "bad int64 in the path", method: "DELETE", path: "/v1/things/12x", status: 400, code: 3, field: "id" },
    { name: "malformed percent escape", method: "GET", path: "/v1/items/%zz", status: 400, code: 3 },
    {
      name: "client streaming is not served over REST",
      method: "POST",
      path: "/v1/items:upload",
      body: "{}",
      status: 404,
      code: 5,
    },
  ];
  for (const c of cases)
    test(`${c.name} → ${c.status}`, async () => {
      gw.backend.calls.length = 0;
      const response = await fetch(gw.url + c.path, { method: c.method, body: c.body });
      assert.equal(response.status, c.status);
      const body = (await response.json()) as {
        code: number;
        message: string;
        details: { fieldViolations?: { field: string }[] }[];
      };
      assert.equal(body.code, c.code, body.message);
      if (c.field) {
        assert.equal(body.details[0]?.fieldViolations?.[0]?.field, c.field, body.message);
        assert.match(body.message, new RegExp(c.field));
      }
      assert.equal(gw.backend.calls.length, 0, "nothing reaches the backend");
    });

  test("a custom method over HTTP/2 (any token; Node's HTTP/1.1 parser takes only the methods it knows)", async () => {
    const { connect } = await import("node:http2");
    gw.backend.reply = () => ({ messages: [encode(item, {})] });
    const session = connect(gw.url);
    try {
      const [status, body] = await new Promise<[number, string]>((resolve, reject) => {
        const stream = session.request({ ":method": "SEARCH", ":path": "/v1/items?count=4" });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (body += chunk));
        stream.on("end", () => resolve([status, body]));
        stream.on("error", reject);
        stream.end();
      });
      assert.equal(status, 200, body);
      assert.deepEqual(gw.backend.calls.at(-1)?.request, { count: 4 });
    } finally {
      session.close();
    }
  });

  test("405 names the methods the path has", async () => {
    const response = await fetch(`${gw.url}/v1/items/x`, { method: "POST" });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "GET, PATCH, PUT");
  });

  test("a body over the limit → 413", async () => {
    const response = await fetch(`${gw.url}/v1/items/a`, {
      method: "PUT",
      body: JSON.stringify({ name: "x".repeat(70_000) }),
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { code: number }).code, 8);
  });

  test("a backend that is down → 503 UNAVAILABLE", async () => {
    await using down = await TestGateway.start(registry, ["gwtest"]);
    down.backend.close();
    const response = await fetch(`${down.url}/v1/items/a`);
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as { code: number }).code, 14);
  });
});

describe("headers", () => {
  test("authorization, Grpc-Metadata-*, traceparent, tracestate, x-request-id, permanent headers and X-Forwarded-*; others dropped", async () => {
    gw.backend.calls.length = 0;
    gw.backend.reply = () => ({ messages: [encode(item, {})] });
    await fetch(`${gw.url}/v1/items/a`, {
      headers: {
        authorization: "Bearer t",
        "grpc-metadata-tenant": "acme",
        "grpc-metadata-blob-bin": Buffer.from([1, 2, 3]).toString("base64"),
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tracestate: "vendor=1",
        "x-request-id": "req-1",
        "user-agent": "tests",
        "x-secret": "dropped",
      },
    });
    const md = gw.backend.calls[0]!.metadata;
    assert.deepEqual(md.get("authorization"), ["Bearer t"]);
    assert.deepEqual(md.get("tenant"), ["acme"]);
    assert.deepEqual(md.get("blob-bin"), [Buffer.from([1, 2, 3])]);
    assert.deepEqual(md.get("traceparent"), ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"]);
    assert.deepEqual(md.get("tracestate"), ["vendor=1"]);
    assert.deepEqual(md.get("x-request-id"), ["req-1"]);
    assert.deepEqual(md.get("grpcgateway-user-agent"), ["tests"]);
    assert.deepEqual(md.get("x-forwarded-for"), ["127.0.0.1"]);
    assert.match(String(md.get("x-forwarded-host")[0]), /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(md.get("x-secret"), []);
  });

  test("Grpc-Timeout becomes the call's deadline; a malformed one is 400", async () => {
    gw.backend.calls.length = 0;
    await fetch(`${gw.url}/v1/items/a`, { headers: { "grpc-timeout": "2S" } });
    const ms = gw.backend.calls[0]!.deadlineMs;
    assert.ok(ms !== undefined && ms > 1000 && ms <= 2000, `deadline in ${ms} ms`);
    const bad = await fetch(`${gw.url}/v1/items/a`, { headers: { "grpc-timeout": "soon" } });
    assert.equal(bad.status, 400);
  });

  test("response headers → Grpc-Metadata-*, trailers → Grpc-Trailer-* when the client sends TE: trailers", async () => {
    gw.backend.reply = () => ({ messages: [encode(item, {})], header: { "x-shard": "7" }, trailer: { "x-cost": "3" } });
    const plain = await fetch(`${gw.url}/v1/items/a`);
    assert.equal(plain.headers.get("grpc-metadata-x-shard"), "7");
    assert.equal(plain.headers.get("grpc-trailer-x-cost"), null);
    await plain.arrayBuffer();
    const { trailers, headers } = await http1WithTrailers(`${gw.url}/v1/items/a`);
    assert.equal(headers["grpc-metadata-x-shard"], "7");
    assert.equal(trailers["grpc-trailer-x-cost"], "3");
  });

  test("errors carry the backend's headers and trailers too", async () => {
    gw.backend.reply = () => ({
      error: { code: GrpcStatus.NOT_FOUND, message: "gone" },
      header: { "x-shard": "2" },
      trailer: { "x-why": "deleted" },
    });
    const { status, headers, trailers } = await http1WithTrailers(`${gw.url}/v1/items/a`);
    assert.equal(status, 404);
    assert.equal(headers["grpc-metadata-x-shard"], "2");
    assert.equal(trailers["grpc-trailer-x-why"], "deleted");
  });

  test("CORS: an allowed origin gets Allow-Origin and the response's own headers exposed; a preflight is answered", async () => {
    gw.backend.reply = () => ({ messages: [encode(item, {})], header: { "x-shard": "7" } });
    const response = await fetch(`${gw.url}/v1/items/a`, { headers: { origin: "https://app.example" } });
    assert.equal(response.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(response.headers.get("access-control-expose-headers") ?? "", /grpc-metadata-x-shard/);
    const other = await fetch(`${gw.url}/v1/items/a`, { headers: { origin: "https://evil.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const preflight = await fetch(`${gw.url}/v1/items/a`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "PATCH",
        "access-control-request-headers": "authorization",
      },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /PATCH/);
    assert.equal(preflight.headers.get("access-control-allow-headers"), "authorization");
  });
});

/** A GET over HTTP/1.1 that reads the trailers too (fetch cannot). */
async function http1WithTrailers(url: string): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | undefined>;
}> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { te: "trailers" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers }));
    });
    req.on("error", reject);
    req.end();
  });
}

export type { DescMethod, Reply };
