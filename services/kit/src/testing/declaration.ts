import type { DeclarationBlock, ServiceDeclaration } from "../declaration/service-declaration.js";

/**
 * A declaration made in code, for modules that exist only in a test (real services read theirs from package.json):
 * `testDeclaration("chain-test", { grpcServices: ["lattice.greeter.v1.GreeterService"] })`. Ports default to 0 and
 * `calls` to none; a database's migrations are looked for in `directory` (the working directory by default).
 */
export function testDeclaration(
  name: string,
  block: Partial<DeclarationBlock> & Pick<DeclarationBlock, "grpcServices">,
  directory = process.cwd(),
): ServiceDeclaration {
  return { ports: { grpc: 0, admin: 0, health: 0 }, calls: [], ...block, name, directory };
}
