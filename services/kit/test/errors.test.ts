import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  ConflictError,
  GrpcError,
  NotFoundError,
  OutcomeUnknownError,
  PreconditionError,
  Status,
  UnavailableError,
  ValidationError,
  toGrpcError,
} from "@lattice/kit";
import { isExpectedError } from "@lattice/kit/internal";

/** What a client receives: the ServiceError grpc-js builds from the status and trailers the server sent. */
function overTheWire(error: GrpcError, trailer?: Metadata): ServiceError {
  const sent = error.toServiceError(trailer);
  return Object.assign(new Error(sent.message), {
    code: sent.code ?? Status.UNKNOWN,
    details: sent.details ?? "",
    metadata: sent.metadata ?? new Metadata(),
  });
}

describe("GrpcError", () => {
  it("round-trips code, message and BadRequest field violations through grpc-status-details-bin", () => {
    const received = GrpcError.fromServiceError(
      overTheWire(toGrpcError(new ValidationError([{ field: "name", description: "empty" }]))),
    );
    assert.equal(received.code, Status.INVALID_ARGUMENT);
    assert.equal(received.codeName, "InvalidArgument");
    assert.equal(received.message, "name: empty");
    assert.deepEqual(
      received.detail("BadRequest")?.fieldViolations.map((v) => [v.field, v.description]),
      [["name", "empty"]],
    );
  });

  it("carries RetryInfo so clients know when to retry", () => {
    const received = GrpcError.fromServiceError(overTheWire(toGrpcError(new UnavailableError("database down", 1500))));
    assert.deepEqual(received.detail("RetryInfo")?.retryDelay, { seconds: 1, nanos: 500_000_000 });
  });

  it("sends its metadata and the handler's trailers, and gives the client every trailer back", () => {
    const metadata = new Metadata();
    metadata.set("x-reason", "quota");
    const trailer = new Metadata();
    trailer.set("x-handler", "set-before-failing");
    const error = new GrpcError(Status.RESOURCE_EXHAUSTED, "slow down", [], { metadata });
    const received = GrpcError.fromServiceError(overTheWire(error, trailer));
    assert.deepEqual(received.metadata.get("x-reason"), ["quota"]);
    assert.deepEqual(received.metadata.get("x-handler"), ["set-before-failing"]);
    assert.deepEqual(error.metadata.get("x-handler"), [], "the error's own metadata is not changed");
  });

  it("keeps code and message when the details trailer is garbage", () => {
    const metadata = new Metadata();
    metadata.set("grpc-status-details-bin", Buffer.from([0xff, 0xff, 0xff]));
    const error = Object.assign(new Error("x"), { code: Status.ABORTED, details: "conflict", metadata });
    const received = GrpcError.fromServiceError(error);
    assert.equal(received.code, Status.ABORTED);
    assert.equal(received.message, "conflict");
    assert.deepEqual(received.details, []);
  });
});

describe("toGrpcError", () => {
  it("maps domain errors to the codes of the status table", () => {
    assert.equal(toGrpcError(new ValidationError([{ field: "a", description: "b" }])).code, Status.INVALID_ARGUMENT);
    const notFound = toGrpcError(new NotFoundError("user", "users/42"));
    assert.equal(notFound.code, Status.NOT_FOUND);
    assert.equal(notFound.detail("ResourceInfo")?.resourceName, "users/42");
    const precondition = toGrpcError(new PreconditionError("STATE", "orders/1", "order is paid"));
    assert.equal(precondition.code, Status.FAILED_PRECONDITION);
    assert.equal(precondition.detail("PreconditionFailure")?.violations[0]?.subject, "orders/1");
    assert.equal(toGrpcError(new ConflictError("stale")).code, Status.ABORTED);
    assert.equal(toGrpcError(new OutcomeUnknownError("charge timed out")).code, Status.DEADLINE_EXCEEDED);
    assert.equal(toGrpcError(new UnavailableError("down")).details.length, 0, "no RetryInfo without a delay");
  });

  it("turns anything else into INTERNAL without revealing it", () => {
    const error = toGrpcError(new Error("password=hunter2 at db.internal:5432"));
    assert.equal(error.code, Status.INTERNAL);
    assert.equal(error.message, "internal error");
    assert.equal(isExpectedError(new Error("bug")), false);
    assert.equal(isExpectedError(new NotFoundError("user", "x")), true);
  });
});
