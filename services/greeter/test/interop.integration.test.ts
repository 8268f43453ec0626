import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { startTestService } from "@lattice/kit/testing";
import { greeterModule } from "../src/module.js";
import { repoRoot } from "./support/paths.js";

const run = promisify(execFile);
const interop = join(repoRoot, ".cache", "interop");
const EXPECTED_CHECKS = [
  "chat_greetings",
  "greet",
  "greet_invalid_argument",
  "health",
  "list_greetings",
  "record_greetings",
];

/** The clients are built by `npm test` (services/greeter/test/interop/build.sh); missing means a broken build. */
const clients = {
  "Go (grpc-go)": [join(interop, "go", "greeter-interop")],
  "Python (grpcio)": [
    join(interop, "venv", "bin", "python"),
    join(repoRoot, "services", "greeter", "test", "interop", "python", "client.py"),
  ],
} as const;

describe("interop: other languages' gRPC libraries against the TypeScript greeter", () => {
  for (const [language, [command, ...args]] of Object.entries(clients)) {
    it(`${language} passes every check on all four call kinds`, async () => {
      assert.ok(existsSync(command), `${command} is missing: run services/greeter/test/interop/build.sh`);
      await using service = await startTestService(greeterModule);
      const result: { stdout?: string; stderr?: string; code?: number } = await run(
        command,
        [...args, "--target", service.grpcAddress],
        { timeout: 60_000 },
      ).catch((error: unknown) => error as { stdout?: string; stderr?: string; code?: number });
      const lines = (result.stdout ?? "")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { check: string; ok: boolean; detail: string });
      const failed = lines.filter((line) => !line.ok);
      assert.deepEqual(failed, [], `failed checks:\n${JSON.stringify(failed, null, 2)}\n${result.stderr ?? ""}`);
      assert.deepEqual([...new Set(lines.map((line) => line.check))].sort(), EXPECTED_CHECKS);
      assert.ok(!("code" in result) || result.code === undefined, "the client exited non-zero");
    });
  }
});
