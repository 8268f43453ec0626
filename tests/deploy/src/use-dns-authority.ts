/**
 * Import first, before anything that loads @grpc/grpc-js: grpc-js reads GRPC_NODE_USE_ALTERNATIVE_RESOLVER once,
 * when it loads, and only with it does a `dns://<server>/<name>:<port>` target ask that server (its c-ares resolver);
 * otherwise it calls the system's getaddrinfo and ignores the authority. Only `dns:` names are affected, and only in
 * the test process that imports this: IP-address targets (every other client in these tests) resolve without DNS.
 */
process.env["GRPC_NODE_USE_ALTERNATIVE_RESOLVER"] = "true";
