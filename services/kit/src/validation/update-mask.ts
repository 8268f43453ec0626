import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { FieldViolation } from "../errors/domain.js";

/**
 * Partial updates (AIP-134): an Update request carries the resource and an `update_mask` naming the fields to
 * replace; the other fields of the resource are not read, so their rules do not apply (a resource whose
 * display_name is required may be sent without one to change its email). For a request with a top-level
 * `google.protobuf.FieldMask update_mask`, violations inside its other message fields are kept only for paths the
 * mask names ("*" names all). Violations elsewhere — the mask itself, scalar fields of the request — always count.
 */
export function keepMaskedFields(
  schema: DescMessage,
  message: Message,
  violations: readonly FieldViolation[],
): FieldViolation[] {
  const mask = schema.fields.find(
    (f) => f.name === "update_mask" && f.message?.typeName === "google.protobuf.FieldMask",
  );
  if (!mask || violations.length === 0) return [...violations];
  const paths = (message as unknown as Record<string, { paths: string[] } | undefined>)[mask.localName]?.paths ?? [];
  if (paths.includes("*")) return [...violations];
  const resources = schema.fields.filter((f) => f !== mask && f.fieldKind === "message").map((f) => f.name);
  return violations.filter((v) => {
    const resource = resources.find((name) => v.field.startsWith(`${name}.`));
    if (resource === undefined) return true;
    const inner = v.field.slice(resource.length + 1);
    return paths.some((p) => inner === p || inner.startsWith(`${p}.`) || inner.startsWith(`${p}[`));
  });
}
