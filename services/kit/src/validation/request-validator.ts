import { fromBinary, hasOption, type DescExtension, type DescMessage, type Message } from "@bufbuild/protobuf";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { ValidationError, type FieldViolation } from "../errors/domain.js";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import type { Contract } from "./contract.js";
import { requestBytes, UndecodableRequest } from "./request-bytes.js";
import { keepMaskedFields } from "./update-mask.js";
import { checkWire, type WireIssue } from "./wire-check.js";

/**
 * Checks the request messages of one method against its contract: first the rules every field gets (wire-check.ts:
 * well-formed, UTF-8, no NUL, 64-bit integers within ±2^53), then the message's protovalidate rules, on a second
 * decode of the same bytes with the contract's descriptors. A request that breaks any is refused with
 * INVALID_ARGUMENT and a BadRequest naming every field at once (in the proto's names, e.g.
 * "items[0].unit_price.amount_minor"), so the handler only ever sees requests its contract allows.
 */
export class RequestValidator {
  private readonly withRules: boolean;

  constructor(
    private readonly schema: DescMessage,
    private readonly validator: Validator,
    rulesExtensions: readonly DescExtension[],
  ) {
    this.withRules = hasRules(schema, rulesExtensions, new Set());
  }

  /** A validator for every method of `contract` (one protovalidate instance, which caches its compiled rules). */
  static forContract(contract: Contract): (schema: DescMessage) => RequestValidator {
    const validator = createValidator({ registry: contract.registry });
    const extensions = ["buf.validate.field", "buf.validate.message", "buf.validate.oneof"]
      .map((name) => contract.registry.getExtension(name))
      .filter((ext): ext is DescExtension => ext !== undefined);
    return (schema) => new RequestValidator(schema, validator, extensions);
  }

  /**
   * Throws ValidationError (INVALID_ARGUMENT) when `request` — a decoded message or an UndecodableRequest — breaks
   * the rules; `position` (1-based) numbers the message of a client stream in each description ("message 3: …").
   * A request without kept bytes (not received through keepRequestBytes) is let through unchecked.
   */
  check(request: unknown, position?: number): void {
    const undecodable = request instanceof UndecodableRequest ? request : undefined;
    const bytes = undecodable?.bytes ?? requestBytes(request);
    if (!bytes) return;
    const violations = this.violationsOf(bytes);
    if (violations.length > 0) throw new ValidationError(numbered(violations, position));
    if (undecodable) throw undecodableError(undecodable, this.schema, position);
  }

  /** Every rule the message in `bytes` breaks, as a refusal would name them; empty when the contract allows it. */
  violationsOf(bytes: Uint8Array): FieldViolation[] {
    const issues = checkWire(this.schema, bytes);
    let violations = issues.map(toViolation);
    if (!issues.some((i) => i.fatal) && (this.withRules || issues.length > 0)) {
      const message = fromBinary(this.schema, bytes, { readUnknownFields: false });
      // concat, not push(...): a message may break a rule in each of many thousand elements.
      if (this.withRules) violations = violations.concat(this.validate(message));
      violations = keepMaskedFields(this.schema, message, violations);
    }
    return violations;
  }

  private validate(message: Message): FieldViolation[] {
    const result = this.validator.validate(this.schema, message);
    if (result.kind === "valid") return [];
    // A rule that does not compile or evaluate is a mistake in the contract, not the caller's: INTERNAL.
    if (result.kind === "error") throw result.error;
    return result.error.violations.map((v) => ({
      field: pathToString(v.field),
      description: v.message,
      reason: v.ruleId,
    }));
  }
}

/**
 * The status for a request the generated decoder refused: INVALID_ARGUMENT naming the field when the wire checks
 * find one (they read the same bytes with the contract's descriptors), else INVALID_ARGUMENT for the message as a
 * whole. Never INTERNAL: these are the caller's bytes. grpc-go answers such requests with INTERNAL; Lattice prefers
 * the code that tells the caller the request, not the server, is at fault.
 */
export function undecodableError(request: UndecodableRequest, schema?: DescMessage, position?: number): Error {
  if (schema) {
    const issues = checkWire(schema, request.bytes);
    if (issues.length > 0) return new ValidationError(numbered(issues.map(toViolation), position));
  }
  const what = schema ? `a valid ${schema.typeName}` : "a valid request message";
  const where = position === undefined ? "" : `message ${position}: `;
  return new GrpcError(Status.INVALID_ARGUMENT, `${where}request is not ${what}`);
}

function toViolation(issue: WireIssue): FieldViolation {
  return { field: issue.field, description: issue.description, reason: issue.reason };
}

function numbered(violations: readonly FieldViolation[], position: number | undefined): FieldViolation[] {
  if (position === undefined) return [...violations];
  return violations.map((v) => ({ ...v, description: `message ${position}: ${v.description}` }));
}

/** Whether the message, or one it contains, declares protovalidate rules (else the second decode is skipped). */
function hasRules(schema: DescMessage, extensions: readonly DescExtension[], seen: Set<DescMessage>): boolean {
  if (extensions.length === 0 || seen.has(schema)) return false;
  seen.add(schema);
  const declares = (element: Parameters<typeof hasOption>[0]) => extensions.some((ext) => hasOption(element, ext));
  if (declares(schema) || schema.oneofs.some(declares)) return true;
  return schema.fields.some((field) => declares(field) || (field.message && hasRules(field.message, extensions, seen)));
}
