/**
 * The address to bind or dial for a host and port: "host:port", "[v6]:port", or a "unix:" path given as host
 * (then the port is ignored).
 */
export function grpcAddress(host: string, port: number): string {
  if (host.startsWith("unix:")) return host;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
