import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { copyCheckout } from "../src/checkout-copy.js";
import { portIsFree } from "../src/ports.js";
import { commandEnv, output, run } from "../src/run.js";

/**
 * `npm run new-service` as a developer uses it, in a throwaway copy of this checkout: scaffold a service, build it,
 * run its own test, start it through the launcher (`npm start -- --only <name>`), call it through reflection, check
 * its health, stop it, and find it in the rendered chart. The real checkout is left as it was.
 */

const checkout = fileURLToPath(new URL("../../../../", import.meta.url));
const NAME = "shipping-quote";
const FULL_GRPC_SERVICE = "lattice.shipping_quote.v1.ShippingQuoteService";

interface Declared {
  readonly lattice: { grpcServices: string[]; ports: { grpc: number; admin: number; health: number } };
}

/** npm's record of the real checkout's node_modules, which git does not see. */
function installedTree(): string {
  const hidden = readFileSync(join(checkout, "node_modules", ".package-lock.json"));
  return createHash("sha256").update(hidden).digest("hex");
}

async function gitStatus(): Promise<string> {
  const result = await run("git", ["status", "--porcelain", "--untracked-files=all"], checkout);
  assert.equal(result.code, 0, output(result));
  return result.stdout;
}

/** Polls `done` every 100 ms; true once it is, false after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** True once nothing listens on `port`, polled every 100 ms; false after `timeoutMs`. */
async function freeWithin(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portIsFree(port))) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

function helm(): string {
  const path = process.env.HELM;
  if (!path || !existsSync(path)) {
    throw new Error(
      "HELM is not set to an existing helm: run the tests through scripts/test.sh, or source " +
        ".cache/deploy-tools/env.sh after bash scripts/deploy-tools/install.sh",
    );
  }
  return path;
}

describe("npm run new-service", { timeout: 900_000 }, () => {
  let copy = "";
  let stateBefore = "";
  let statusBefore = "";
  const inCopy = (...path: string[]) => join(copy, ...path);
  const npm = (...args: string[]) => run("npm", args, copy);

  before(async () => {
    helm(); // fail first, with the reason, when the tools are missing
    stateBefore = installedTree();
    statusBefore = await gitStatus();
    copy = copyCheckout(checkout, "lattice-new-service-");
  });

  after(async () => {
    if (copy) rmSync(copy, { recursive: true, force: true });
    assert.equal(installedTree(), stateBefore, "the real checkout's node_modules record changed");
    assert.equal(await gitStatus(), statusBefore, "the real checkout changed");
  });

  test("refuses a name that is not a DNS label, and the name of an existing service", async () => {
    for (const [name, reason] of [
      ["Shipping_Quote", /"Shipping_Quote" is not a service name: use a DNS label/],
      ["9lives", /"9lives" is not a service name/],
      ["greeter", /a service named greeter exists already: services\/greeter exists/],
    ] as const) {
      const result = await npm("run", "new-service", "--", name);
      assert.equal(result.code, 2, output(result));
      assert.match(result.stderr, reason);
    }
    assert.ok(!existsSync(inCopy("services", "Shipping_Quote")), "nothing is written for a refused name");
  });

  test("scaffolds a service that builds, passes its own test and is lint and format clean", async () => {
    const scaffolded = await npm("run", "new-service", "--", NAME);
    assert.equal(scaffolded.code, 0, output(scaffolded));
    for (const file of ["package.json", "src/main.ts", "src/module.ts", "src/handler.ts", `src/${NAME}.ts`]) {
      assert.ok(existsSync(inCopy("services", NAME, file)), `services/${NAME}/${file} was not created`);
    }
    assert.ok(existsSync(inCopy("proto/lattice/shipping_quote/v1/shipping_quote.proto")));
    assert.ok(existsSync(inCopy("proto/gen/ts/lattice/shipping_quote/v1/shipping_quote.ts")), "code was not generated");
    const rules = readFileSync(inCopy("services", NAME, "src", `${NAME}.ts`), "utf8");
    assert.doesNotMatch(rules, /from "(@lattice\/proto|@grpc)/, "the rules file imports no gRPC or protobuf types");
    // Field rules live in the contract, where the kit enforces them; the service code keeps business rules only.
    const contract = readFileSync(inCopy("proto/lattice/shipping_quote/v1/shipping_quote.proto"), "utf8");
    assert.match(contract, /import "buf\/validate\/validate.proto";/);
    assert.match(contract, /\(buf\.validate\.field\)\.string\.max_len = 100/);
    for (const file of [`src/${NAME}.ts`, "src/handler.ts"]) {
      const code = readFileSync(inCopy("services", NAME, file), "utf8");
      assert.doesNotMatch(code, /new ValidationError|codePointLength\(|\.length [<>]/, `${file} checks fields itself`);
    }

    const built = await run("npx", ["tsc", "-b"], copy, 600_000);
    assert.equal(built.code, 0, output(built));
    const tested = await run(
      process.execPath,
      ["--test", "--test-reporter=tap", `services/${NAME}/dist/test/${NAME}.test.js`],
      copy,
    );
    assert.equal(tested.code, 0, output(tested));
    assert.match(tested.stdout, /# pass 3/);
    const linted = await run("npx", ["eslint", `services/${NAME}`], copy);
    assert.equal(linted.code, 0, output(linted));
    const formatted = await run(
      "npx",
      ["prettier", "--check", `services/${NAME}`, "proto/lattice", "tsconfig.json", "skaffold.yaml", "charts"],
      copy,
    );
    assert.equal(formatted.code, 0, output(formatted));
    // The registrations agree with the declarations, by the same checks the deploy tests make.
    const checked = await run(process.execPath, ["--test", "tests/deploy/dist/test/declarations.test.js"], copy);
    assert.equal(checked.code, 0, output(checked));
  });

  test("refuses the same name a second time, writing nothing", async () => {
    const before = readFileSync(inCopy("skaffold.yaml"), "utf8");
    const again = await npm("run", "new-service", "--", NAME);
    assert.equal(again.code, 2, output(again));
    assert.match(again.stderr, new RegExp(`a service named ${NAME} exists already: services/${NAME} exists`));
    assert.equal(readFileSync(inCopy("skaffold.yaml"), "utf8"), before);
  });

  test("starts through the launcher with --only, answers through reflection and health, stops gracefully", async () => {
    const declared = JSON.parse(readFileSync(inCopy("services", NAME, "package.json"), "utf8")) as Declared;
    assert.deepEqual(declared.lattice.grpcServices, [FULL_GRPC_SERVICE]);
    const { grpc, admin, health } = declared.lattice.ports;
    for (const port of [grpc, admin, health])
      assert.ok(await portIsFree(port), `port ${port} is in use on this machine`);

    const launcher = spawn(process.execPath, ["scripts/platform/dist/src/bin/start.js", "--only", NAME], {
      cwd: copy,
      env: commandEnv({ LOG_FORMAT: "json" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let said = "";
    launcher.stdout.setEncoding("utf8").on("data", (chunk: string) => (said += chunk));
    launcher.stderr.setEncoding("utf8").on("data", (chunk: string) => (said += chunk));
    let code: number | null | undefined;
    const exited = new Promise<void>((resolve) =>
      launcher.once("close", (status) => {
        code = status;
        resolve();
      }),
    );
    try {
      const up = await until(() => said.includes("Lattice is up.") || code !== undefined, 60_000);
      assert.ok(up && code === undefined, `the launcher did not bring ${NAME} up:\n${said}`);
      assert.doesNotMatch(said, /PostgreSQL|NATS/, "a service without database or events needs neither");
      assert.ok(said.includes(`--list-methods http://127.0.0.1:${grpc}`), said);

      const buf = join(copy, "node_modules", ".bin", "buf");
      const curl = (path: string, body: string) =>
        run(
          buf,
          ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", body, `http://127.0.0.1:${grpc}/${path}`],
          copy,
        );
      const listed = await run(
        buf,
        ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", `http://127.0.0.1:${grpc}`],
        copy,
      );
      assert.ok(listed.stdout.includes(`${FULL_GRPC_SERVICE}/Echo`), output(listed));
      const echoed = await curl(`${FULL_GRPC_SERVICE}/Echo`, '{"message":"  Ada "}');
      assert.equal(echoed.code, 0, output(echoed));
      assert.deepEqual(JSON.parse(echoed.stdout), { message: "Ada" });
      const refused = await curl(`${FULL_GRPC_SERVICE}/Echo`, '{"message":""}');
      assert.notEqual(refused.code, 0);
      assert.match(refused.stdout + refused.stderr, /invalid_argument/);

      const checked = await curl("grpc.health.v1.Health/Check", `{"service":"${FULL_GRPC_SERVICE}"}`);
      assert.deepEqual(JSON.parse(checked.stdout), { status: "SERVING" }, output(checked));
      assert.equal((await fetch(`http://127.0.0.1:${admin}/readyz`)).status, 200);
      const probe = await run(
        process.execPath,
        ["services/kit/dist/src/bin/health-probe.js", `--addr=127.0.0.1:${health}`, "--service=readiness"],
        copy,
      );
      assert.equal(probe.code, 0, output(probe));

      launcher.kill("SIGTERM");
      assert.ok(await until(() => code !== undefined, 30_000), `the launcher did not stop within 30 s:\n${said}`);
      await exited;
      assert.equal(code, 0, `the launcher did not stop cleanly:\n${said}`);
      assert.match(said, /shutting down: not serving, draining/);
      assert.match(said, /"msg":"shut down"/);
      assert.ok(await portIsFree(grpc), `port ${grpc} is still taken after the stop`);
    } finally {
      launcher.kill("SIGKILL");
    }
  });

  /**
   * Starts `command` in the copy (something that runs the launcher with --only NAME), waits until the platform is up,
   * calls `stop` with the spawned process, and checks that the service drained and its ports are free again.
   */
  async function upThenStopped(
    command: string,
    args: readonly string[],
    stop: (pid: number) => void,
    whileUp: () => Promise<void> = async () => undefined,
  ): Promise<void> {
    const declared = JSON.parse(readFileSync(inCopy("services", NAME, "package.json"), "utf8")) as Declared;
    const { grpc, admin, health } = declared.lattice.ports;
    // Its own process group, so what is left behind can be cleaned up at the end whatever happened.
    const child = spawn(command, args, {
      cwd: copy,
      env: commandEnv({ LOG_FORMAT: "json" }),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let said = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (said += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (said += chunk));
    // "close" comes once the process ended and its output pipes closed, which the launcher holds until it exits.
    let closed = false;
    child.once("close", () => (closed = true));
    try {
      assert.ok(await until(() => said.includes("Lattice is up."), 120_000), `${NAME} did not come up:\n${said}`);
      await whileUp();
      stop(child.pid!);
      assert.ok(await until(() => closed, 30_000), `the launcher did not exit within 30 s:\n${said}`);
      assert.match(said, /"msg":"shut down"/);
      assert.match(said, /shutting down: not serving, draining/);
      for (const port of [grpc, admin, health])
        assert.ok(await freeWithin(port, 10_000), `port ${port} is still taken`);
    } finally {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // Already gone: nothing was left.
      }
    }
  }

  test("npm start with the gateway serves the new service's REST rule; SIGINT or SIGTERM to npm alone stops it", async () => {
    const gateway = JSON.parse(readFileSync(inCopy("services", "gateway", "package.json"), "utf8")) as {
      lattice: { calls: string[]; ports: { http: number } };
    };
    assert.ok(gateway.lattice.calls.includes(NAME), "the scaffold added the new service to the gateway's calls");
    const restEcho = async () => {
      const response = await fetch(`http://127.0.0.1:${gateway.lattice.ports.http}/v1/${NAME}:echo`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "  Ada " }),
      });
      assert.equal(response.status, 200, await response.clone().text());
      assert.deepEqual(await response.json(), { message: "Ada" });
    };
    await upThenStopped(
      "npm",
      ["start", "--", "--only", NAME, "gateway"],
      (pid) => process.kill(pid, "SIGINT"),
      restEcho,
    );
    await upThenStopped("npm", ["start", "--", "--only", NAME], (pid) => process.kill(pid, "SIGTERM"));
  });

  test("the launcher stops everything when its parent is killed without passing a signal on", async () => {
    // A shell that runs the launcher as its child, as npm's shell did before; SIGKILL gives it no chance to forward.
    await upThenStopped(
      "sh",
      ["-c", `${process.execPath} scripts/platform/dist/src/bin/start.js --only ${NAME} & wait`],
      (pid) => process.kill(pid, "SIGKILL"),
    );
  });

  test("the chart renders a Deployment and a Service for it", async () => {
    const rendered = await run(
      helm(),
      ["template", "lattice", inCopy("charts", "lattice"), "--namespace", "lattice"],
      copy,
    );
    assert.equal(rendered.code, 0, output(rendered));
    const manifests = parseAllDocuments(rendered.stdout)
      .map((document) => document.toJS() as { kind?: string; metadata?: { name?: string }; spec?: unknown } | null)
      .filter((manifest) => manifest !== null);
    const named = (kind: string) => manifests.find((m) => m.kind === kind && m.metadata?.name === NAME);
    const deployment = named("Deployment") as
      | { spec: { template: { spec: { containers: { name: string; image: string; command: string[] }[] } } } }
      | undefined;
    assert.ok(deployment, `no Deployment named ${NAME} in the rendered chart`);
    const container = deployment.spec.template.spec.containers.find((c) => c.name === NAME);
    assert.ok(container, `the Deployment has no ${NAME} container`);
    assert.match(container.image, new RegExp(`^localhost/lattice/${NAME}:`));
    assert.deepEqual(container.command, ["node", `/app/services/${NAME}/dist/src/main.js`]);
    assert.ok(named("Service"), `no Service named ${NAME}`);
  });
});
