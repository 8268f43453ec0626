#!/usr/bin/env node
/**
 * health-probe: checks a service's gRPC health from inside its container, for `kubectl exec` and for clusters whose
 * kubelet has no native gRPC probes (exec probes). Defaults to the plaintext health port of the container it runs in.
 *
 *   health-probe [--addr=127.0.0.1:8091] [--service=readiness] [--timeout=1s]
 */
import { parseArgs } from "node:util";
import { probeHealth, ProbeExit } from "../health/probe.js";

function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!match?.[1]) return undefined;
  return Number(match[1]) * (match[2] === "ms" ? 1 : 1000);
}

function usage(problem: string): never {
  process.stderr.write(
    `health-probe: ${problem}\nusage: health-probe [--addr=host:port] [--service=name] [--timeout=1s]\n`,
  );
  process.exit(ProbeExit.BAD_ARGUMENTS);
}

let values: { addr?: string; service?: string; timeout?: string };
try {
  ({ values } = parseArgs({
    options: { addr: { type: "string" }, service: { type: "string" }, timeout: { type: "string" } },
    strict: true,
  }));
} catch (error) {
  usage(error instanceof Error ? error.message : String(error));
}
const timeoutMs = parseDuration(values.timeout ?? "1s");
if (timeoutMs === undefined || timeoutMs <= 0) usage(`--timeout wants a duration such as 1s or 500ms`);

const result = await probeHealth({
  address: values.addr ?? `127.0.0.1:${process.env["HEALTH_PORT"] ?? "8091"}`,
  service: values.service ?? "readiness",
  timeoutMs,
});
(result.exitCode === ProbeExit.SERVING ? process.stdout : process.stderr).write(`${result.message}\n`);
process.exit(result.exitCode);
