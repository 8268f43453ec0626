import type { DeclarationBlock } from "@lattice/kit";

/** The local ports of `npm start` a declaration gives a service. */
export type LocalPorts = Required<Pick<DeclarationBlock["ports"], "grpc" | "admin" | "health">>;

/** The ports of the first service, when none is declared yet (those of the greeter). */
const FIRST_PORTS: LocalPorts = { grpc: 50051, admin: 8081, health: 8091 };

/**
 * Ports for a new service: for each kind, the first port after the highest one declared for that kind that no
 * declaration uses (of any kind) and that `isFree` accepts (e.g. nothing listens on it now), so services keep
 * neighbouring ports (50055, 8085, 8095 after 50054, 8084, 8094).
 */
export async function chooseLocalPorts(
  declared: readonly DeclarationBlock["ports"][],
  isFree: (port: number) => Promise<boolean>,
): Promise<LocalPorts> {
  // Every declared port is taken, a service's HTTP port (the gateway's) included.
  const taken = new Set(
    declared.flatMap((ports) => [
      ports.grpc,
      ports.admin,
      ports.health,
      ...(ports.http === undefined ? [] : [ports.http]),
    ]),
  );
  const next = async (kind: keyof LocalPorts): Promise<number> => {
    let port = declared.length === 0 ? FIRST_PORTS[kind] : Math.max(...declared.map((ports) => ports[kind])) + 1;
    while (taken.has(port) || !(await isFree(port))) {
      port += 1;
      if (port > 65535) throw new Error(`no free ${kind} port left above the declared ones`);
    }
    taken.add(port);
    return port;
  };
  return { grpc: await next("grpc"), admin: await next("admin"), health: await next("health") };
}
