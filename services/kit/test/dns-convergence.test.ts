// grpc-js asks the DNS server a target names (dns://<server>/<name>) only with its "alternative" resolver, chosen
// when its module loads: set the switch before anything imports it.
process.env["GRPC_NODE_USE_ALTERNATIVE_RESOLVER"] = "true";
const { dnsConvergenceScenario } = await import("./support/dns-convergence-scenario.js");
dnsConvergenceScenario();
