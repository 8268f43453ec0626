import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseLocalPorts } from "../src/new-service/local-ports.js";

const free = () => Promise.resolve(true);
const declared = [
  { grpc: 50051, admin: 8081, health: 8091 },
  { grpc: 50054, admin: 8084, health: 8094 },
];

describe("local ports of a new service", () => {
  it("come after the highest declared port of each kind", async () => {
    assert.deepEqual(await chooseLocalPorts(declared, free), { grpc: 50055, admin: 8085, health: 8095 });
  });

  it("start at the greeter's when nothing is declared", async () => {
    assert.deepEqual(await chooseLocalPorts([], free), { grpc: 50051, admin: 8081, health: 8091 });
  });

  it("skip ports another kind declares and ports something listens on", async () => {
    const crowded = [{ grpc: 50051, admin: 8090, health: 8091 }];
    const busy = new Set([50052, 8092]);
    const chosen = await chooseLocalPorts(crowded, (port) => Promise.resolve(!busy.has(port)));
    // admin 8091 is the health port, 8092 is busy; health then takes the next after 8091 that is left.
    assert.deepEqual(chosen, { grpc: 50053, admin: 8093, health: 8094 });
  });
});
