import { loadServiceDeclarations, peerAddressVariable, type ServiceDeclaration } from "@lattice/kit";
import { repositoryRoot } from "./repository.js";

/** Every declared service of the checkout (services/<name>/package.json with a `lattice` block), in name order. */
export const declarations: readonly ServiceDeclaration[] = loadServiceDeclarations(repositoryRoot);

/** A declared service's name, e.g. "order". */
export type ServiceName = string;

/** The declaration of `service`; throws for a name no service declares. */
export function declarationOf(service: ServiceName): ServiceDeclaration {
  const found = declarations.find((declaration) => declaration.name === service);
  if (!found) throw new Error(`no declared service named ${service} (services/${service}/package.json)`);
  return found;
}

/** The settings holding the gRPC targets of the services `service` calls, each with the peer it names. */
export function peerAddressesOf(service: ServiceName): { readonly variable: string; readonly peer: ServiceName }[] {
  return declarationOf(service).calls.map((peer) => ({ variable: peerAddressVariable(peer), peer }));
}
