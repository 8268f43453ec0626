import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { startTestService } from "@lattice/kit/testing";
import { greeterModule } from "../src/module.js";
import { repoRoot } from "./support/paths.js";

const run = promisify(execFile);
const buf = join(repoRoot, "node_modules", ".bin", "buf");

/** `buf curl` resolving everything through the server's reflection service, as a user would run it. */
async function bufCurl(address: string, ...args: string[]) {
  const { stdout } = await run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
    timeout: 20_000,
  });
  return stdout;
}

describe("reflection, through buf curl", () => {
  it("lists every method, and calls Greet and Health/Check by name", async () => {
    await using service = await startTestService(greeterModule);
    const base = `http://${service.grpcAddress}`;

    const methods = (await bufCurl(service.grpcAddress, "--list-methods", base)).trim().split("\n");
    assert.deepEqual(methods.sort(), [
      "grpc.health.v1.Health/Check",
      "grpc.health.v1.Health/List",
      "grpc.health.v1.Health/Watch",
      "lattice.greeter.v1.GreeterService/ChatGreetings",
      "lattice.greeter.v1.GreeterService/Greet",
      "lattice.greeter.v1.GreeterService/ListGreetings",
      "lattice.greeter.v1.GreeterService/RecordGreetings",
    ]);

    const greeting = await bufCurl(
      service.grpcAddress,
      "-d",
      '{"name":"Ada","language":"LANGUAGE_SPANISH"}',
      `${base}/lattice.greeter.v1.GreeterService/Greet`,
    );
    assert.deepEqual(JSON.parse(greeting), { message: "¡Hola, Ada!", language: "LANGUAGE_SPANISH" });

    const health = await bufCurl(service.grpcAddress, "-d", '{"service":""}', `${base}/grpc.health.v1.Health/Check`);
    assert.deepEqual(JSON.parse(health), { status: "SERVING" });
  });
});
