import { probeHealth, ProbeExit } from "../health/probe.js";
import type { TestService } from "./start-test-service.js";

/**
 * Throws unless the service's health port (the one kubelet probes) answers SERVING for readiness, liveness and each
 * of `services`: what a test checks after throwing bad input at a service, to show it was not knocked over.
 */
export async function assertServing(service: Pick<TestService, "healthAddress">, services: readonly string[]) {
  for (const name of ["readiness", "liveness", ...services]) {
    const result = await probeHealth({ address: service.healthAddress, service: name, timeoutMs: 5000 });
    if (result.exitCode !== ProbeExit.SERVING)
      throw new Error(`health of "${name}" at ${service.healthAddress}: ${result.message}`);
  }
}
