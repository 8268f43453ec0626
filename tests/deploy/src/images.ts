import { declarations, type ServiceName } from "./declarations.js";

export type { ServiceName } from "./declarations.js";

/** The services that ship as images: every declared service. */
export const services: readonly ServiceName[] = declarations.map((declaration) => declaration.name);

/** The image of a service as scripts/containers/build.sh named it; the names come from scripts/test.sh. */
export function serviceImage(service: ServiceName): string {
  const tag = process.env["LATTICE_IMAGE_TAG"];
  if (!tag) throw new Error("LATTICE_IMAGE_TAG is not set: run the image tests through `npm test` (scripts/test.sh)");
  const prefix = process.env["LATTICE_IMAGE_PREFIX"] ?? "localhost/lattice/";
  return `${prefix}${service}:${tag}`;
}
