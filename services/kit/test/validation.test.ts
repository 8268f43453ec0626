import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { ClientHttp2Session } from "node:http2";
import { Contract, GrpcError, Status, ValidationError } from "@lattice/kit";
import { checkWire, DEFAULT_MAX_ITEMS, STATUS_DETAILS_KEY } from "@lattice/kit/internal";
import {
  collect,
  contractViolations,
  grpcErrorOf,
  grpcFrame,
  grpcMessages,
  rawCall,
  rawConnection,
  startTestService,
  type RawCallResult,
  type TestService,
} from "@lattice/kit/testing";
import { Status as RpcStatus } from "@lattice/proto/google/rpc/status";
import { BadRequest } from "@lattice/proto/google/rpc/error_details";
import {
  GreeterServiceService,
  GreetRequest,
  GreetResponse,
  Language,
  RecordGreetingsRequest,
} from "@lattice/proto/lattice/greeter/v1/greeter";
import { HealthCheckRequest } from "@lattice/proto/grpc/health/v1/health";
import { greeterModule } from "./support/test-greeter.js";

const GREET = "/lattice.greeter.v1.GreeterService/Greet";
const RECORD = "/lattice.greeter.v1.GreeterService/RecordGreetings";

/** A GreetRequest whose name field (1) carries `name` as raw bytes, whatever they are. */
function greetBytes(name: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(name).finish();
}

/** The BadRequest violations of a raw call's status, as [field, reason] pairs. */
function violations(result: RawCallResult): [string, string][] {
  const raw = result.trailers[STATUS_DETAILS_KEY] ?? result.headers[STATUS_DETAILS_KEY];
  assert.equal(typeof raw, "string", "no grpc-status-details-bin");
  const status = RpcStatus.decode(Buffer.from(raw as string, "base64"));
  const badRequest = status.details.find((d) => d.typeUrl.endsWith("google.rpc.BadRequest"));
  assert.ok(badRequest, "no BadRequest detail");
  return BadRequest.decode(badRequest.value).fieldViolations.map((v) => [v.field, v.reason]);
}

describe("contract validation in the kit", () => {
  let service: TestService;
  let session: ClientHttp2Session;
  const handled: string[] = [];

  before(async () => {
    service = await startTestService(
      greeterModule({
        greet(request) {
          handled.push(request.name);
          return { message: `hi ${request.name}`, language: Language.LANGUAGE_UNSPECIFIED };
        },
      }),
    );
    session = rawConnection(service.grpcAddress);
  });
  after(async () => {
    session.close();
    await service[Symbol.asyncDispose]();
  });

  it("enforces the rules declared in the .proto for a handler that checks nothing itself", async () => {
    const greeter = service.client(GreeterServiceService);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- a number the contract does not define
    const error = await grpcErrorOf(greeter.greet({ name: " ", language: 42 as Language }));
    assert.equal(error.code, Status.INVALID_ARGUMENT);
    assert.deepEqual(
      error.detail("BadRequest")?.fieldViolations.map((v) => [v.field, v.reason, v.description]),
      [
        ["name", "string.not_blank", "must not be empty"],
        ["language", "enum.defined_only", "value must be one of the defined enum values"],
      ],
    );
    assert.deepEqual(handled, []);
    assert.equal((await greeter.greet({ name: "Ada", language: Language.LANGUAGE_FRENCH })).message, "hi Ada");
  });

  it("refuses a string that is not UTF-8, naming the field, instead of handing the handler U+FFFD", async () => {
    const result = await rawCall(session, GREET, grpcFrame(greetBytes(Buffer.from([0x41, 0x64, 0xff, 0xfe]))));
    assert.equal(result.code, Status.INVALID_ARGUMENT, result.message);
    assert.deepEqual(violations(result), [["name", "INVALID_UTF8"]]);
    assert.ok(!handled.some((name) => name.includes("\uFFFD")));
  });

  it("refuses a NUL character in any string, naming the field", async () => {
    const error = await grpcErrorOf(
      service
        .client(GreeterServiceService)
        .greet({ name: "Ada\u0000Lovelace", language: Language.LANGUAGE_UNSPECIFIED }),
    );
    assert.equal(error.code, Status.INVALID_ARGUMENT);
    assert.deepEqual(
      error.detail("BadRequest")?.fieldViolations.map((v) => [v.field, v.reason]),
      [["name", "NUL_CHARACTER"]],
    );
  });

  it("answers bytes the generated decoder cannot read with INVALID_ARGUMENT, never INTERNAL", async () => {
    const truncated = greetBytes(Buffer.from("Ada")).subarray(0, 3);
    const wrongWireType = new BinaryWriter().tag(1, WireType.Varint).uint32(7).finish();
    // Unknown field 9 holding groups nested 200 deep: past the decoders' recursion limit.
    const deep = new BinaryWriter();
    for (let i = 0; i < 200; i++) deep.tag(9, WireType.StartGroup);
    for (let i = 0; i < 200; i++) deep.tag(9, WireType.EndGroup);
    for (const [bytes, field] of [
      [truncated, "name"],
      [wrongWireType, "name"],
      [deep.finish(), ""],
      [Buffer.from([0x00]), ""],
    ] as const) {
      const result = await rawCall(session, GREET, grpcFrame(bytes));
      assert.equal(result.code, Status.INVALID_ARGUMENT, result.message);
      if (field) assert.deepEqual(violations(result), [[field, "MALFORMED"]]);
    }
    assert.deepEqual(handled, ["Ada"]);
  });

  it("checks every message of a client stream and says which one was wrong", async () => {
    const frames = Buffer.concat([
      grpcFrame(RecordGreetingsRequest.encode({ name: "Ada" }).finish()),
      grpcFrame(RecordGreetingsRequest.encode({ name: "Grace" }).finish()),
      grpcFrame(greetBytes(Buffer.from([0xc3, 0x28]))),
    ]);
    const result = await rawCall(session, RECORD, frames);
    assert.equal(result.code, Status.INVALID_ARGUMENT, result.message);
    assert.match(result.message, /^name: message 3: must be valid UTF-8/);

    const error = await grpcErrorOf(
      service.client(GreeterServiceService).recordGreetings([{ name: "Ada" }, { name: "" }, { name: "Linus" }]),
    );
    assert.equal(error.detail("BadRequest")?.fieldViolations[0]?.description, "message 2: must not be empty");
  });

  it("leaves health and reflection unvalidated, but still answers their undecodable requests properly", async () => {
    const check = "/grpc.health.v1.Health/Check";
    const ok = await rawCall(session, check, grpcFrame(HealthCheckRequest.encode({ service: "" }).finish()));
    assert.equal(ok.code, Status.OK);
    const bad = await rawCall(session, check, grpcFrame(Buffer.from([0x0a, 0x05, 0x41])));
    assert.equal(bad.code, Status.INVALID_ARGUMENT, bad.message);
    assert.deepEqual(violations(bad), [["service", "MALFORMED"]]);
  });

  it("answers a valid request through the raw path too (the hook changes nothing for good bytes)", async () => {
    const result = await rawCall(
      session,
      GREET,
      grpcFrame(GreetRequest.encode({ name: "Grace", language: Language.LANGUAGE_ENGLISH }).finish()),
    );
    assert.equal(result.code, Status.OK, result.message);
    assert.equal(GreetResponse.decode(grpcMessages(result.body)[0]!).message, "hi Grace");
  });

  it("streams: a server stream's request is checked before the first message is sent", async () => {
    const error = await grpcErrorOf(
      collect(service.client(GreeterServiceService).listGreetings({ name: "Ada", count: 0 })),
    );
    assert.ok(error instanceof GrpcError);
    assert.deepEqual(
      error.detail("BadRequest")?.fieldViolations.map((v) => [v.field, v.reason]),
      [["count", "int32.gte_lte"]],
    );
  });
});

describe("a list past its bound", () => {
  const CREATE_ORDER = "/lattice.order.v1.OrderService/CreateOrder";
  /** A CreateOrderRequest (items, field 2, at most 100) with `count` copies of one item. */
  const items = (count: number, item: Uint8Array) => {
    const writer = new BinaryWriter();
    for (let i = 0; i < count; i++) writer.tag(2, WireType.LengthDelimited).bytes(item);
    return writer.finish();
  };
  const valid = new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .string("book-1")
    .tag(2, WireType.Varint)
    .int32(1)
    .tag(3, WireType.LengthDelimited)
    .bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string("EUR").tag(2, WireType.Varint).int64(5).finish())
    .finish();

  it("is refused on its own, as protovalidate words it, without its elements being evaluated", () => {
    // protovalidate evaluates every element before the count: about 15 s of one core for these 2 MB, and the
    // violations of a million elements overflowed the stack (INTERNAL).
    const started = performance.now();
    assert.deepEqual(contractViolations(CREATE_ORDER, items(1_000_000, new Uint8Array())), [
      "items: must contain no more than 100 item(s)",
    ]);
    assert.ok(performance.now() - started < 3000, `took ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(contractViolations(CREATE_ORDER, items(101, valid)), [
      "items: must contain no more than 100 item(s)",
    ]);
  });

  it("leaves a list within its bound to protovalidate, every element checked", () => {
    assert.ok(!contractViolations(CREATE_ORDER, items(100, valid)).some((v) => v.startsWith("items:")));
    const violations = contractViolations(CREATE_ORDER, items(100, new Uint8Array()));
    assert.ok(violations.includes("items[99].unit_price: value is required"), violations.slice(-3).join("; "));
  });

  it("without a bound in its contract, takes at most DEFAULT_MAX_ITEMS elements (a FieldMask's paths)", () => {
    // protovalidate checks each path of update_mask against field_mask.in: about 1.2 s for 300,000 valid paths.
    const UPDATE_USER = "/lattice.user.v1.UserService/UpdateUser";
    const update = (paths: number) => {
      const mask = new BinaryWriter();
      for (let i = 0; i < paths; i++) mask.tag(1, WireType.LengthDelimited).string("email");
      const user = new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .string("users/00000000-0000-4000-8000-000000000000")
        .tag(2, WireType.LengthDelimited)
        .string("ada@example.org");
      return new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .bytes(user.finish())
        .tag(2, WireType.LengthDelimited)
        .bytes(mask.finish())
        .finish();
    };
    const started = performance.now();
    assert.deepEqual(contractViolations(UPDATE_USER, update(300_000)), [
      `update_mask.paths: must contain no more than ${DEFAULT_MAX_ITEMS} item(s)`,
    ]);
    assert.ok(performance.now() - started < 1000, `took ${Math.round(performance.now() - started)} ms`);
    const schema = Contract.lattice().requestSchema(UPDATE_USER)!;
    assert.deepEqual(
      checkWire(schema, update(DEFAULT_MAX_ITEMS + 1)).map((issue) => issue.reason),
      ["TOO_MANY_ITEMS"],
    );
    assert.deepEqual(contractViolations(UPDATE_USER, update(DEFAULT_MAX_ITEMS)), []);
  });

  it("is named in the wire check's issues with protovalidate's rule id, fatal", () => {
    const schema = Contract.lattice().requestSchema(CREATE_ORDER)!;
    assert.deepEqual(checkWire(schema, items(150, valid)), [
      {
        field: "items",
        description: "must contain no more than 100 item(s)",
        reason: "repeated.max_items",
        fatal: true,
      },
    ]);
  });
});

describe("what errors echo is bounded", () => {
  it("answers a handler error that quotes a 200 KB field with its code, not a client hanging until its deadline", async () => {
    const huge = "p".repeat(200_000);
    await using service = await startTestService(
      greeterModule({
        greet() {
          throw new ValidationError(
            Array.from({ length: 500 }, (_, i) => ({
              field: `update_mask.paths[${i}]`,
              description: `unknown: ${huge}`,
            })),
          );
        },
      }),
    );
    const started = performance.now();
    const error = await grpcErrorOf(
      service
        .client(GreeterServiceService, { defaultTimeoutMs: 20_000 })
        .greet({ name: "Ada", language: Language.LANGUAGE_UNSPECIFIED }),
    );
    assert.equal(error.code, Status.INVALID_ARGUMENT, error.message);
    assert.ok(performance.now() - started < 5_000, "the client waited for its deadline");
    assert.ok(Buffer.byteLength(error.message) <= 1024, `message of ${Buffer.byteLength(error.message)} bytes`);
    const violations = error.detail("BadRequest")?.fieldViolations ?? [];
    assert.ok(violations.length >= 1 && violations.length <= 16, `${violations.length} violations`);
    assert.equal(violations[0]?.field, "update_mask.paths[0]");
    assert.ok(violations.every((v) => Buffer.byteLength(v.description) <= 200));
    const trailer = error.metadata.get(STATUS_DETAILS_KEY)[0];
    assert.ok(trailer instanceof Buffer && trailer.length <= 2048);
    // The log line is bounded the same way.
    const line = service.logs.find((l) => l.msg === "finished call");
    assert.ok(line && typeof line["grpc.error"] === "string" && Buffer.byteLength(line["grpc.error"]) <= 1024);
  });
});
