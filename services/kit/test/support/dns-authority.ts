/**
 * Import first, before anything that loads @grpc/grpc-js: grpc-js reads GRPC_NODE_USE_ALTERNATIVE_RESOLVER once,
 * when it loads, and only with it does a `dns://<server>/<name>:<port>` target ask that server; otherwise it calls
 * the system's getaddrinfo and ignores the authority. Only `dns:` names of the importing test process are affected.
 */
process.env["GRPC_NODE_USE_ALTERNATIVE_RESOLVER"] = "true";
