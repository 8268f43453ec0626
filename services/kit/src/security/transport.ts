import {
  credentials as grpcCredentials,
  experimental,
  ServerCredentials,
  type ChannelCredentials,
  type ChannelOptions,
} from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import { CertificateFiles } from "./certificate-files.js";
import type { SecurityConfig } from "./config.js";

export type TlsMode = SecurityConfig["TLS_MODE"];

type TransportConfig = Pick<
  SecurityConfig,
  "TLS_MODE" | "TLS_CERT_FILE" | "TLS_KEY_FILE" | "TLS_CA_FILE" | "TLS_REFRESH_MS" | "TLS_LOAD_TIMEOUT_MS"
>;

/**
 * The transport security of one process, from its configuration: the credentials its gRPC port binds with and
 * those its clients dial with, over one set of watched certificate files (see CertificateFiles).
 */
export class TransportSecurity {
  /** Undefined in plaintext mode. */
  readonly files: CertificateFiles | undefined;
  private channel: ChannelCredentials | undefined;

  constructor(
    private readonly config: TransportConfig,
    logger: Logger,
  ) {
    if (config.TLS_MODE === "plaintext") return;
    const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_CA_FILE: caFile } = config;
    if (!certFile || !keyFile || !caFile)
      throw new Error(`TLS_MODE=${config.TLS_MODE} needs TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE`);
    this.files = new CertificateFiles({ certFile, keyFile, caFile, refreshMs: config.TLS_REFRESH_MS, logger });
  }

  get mode(): TlsMode {
    return this.config.TLS_MODE;
  }

  /** Resolves when the server may bind: at once in plaintext, else once the files are first usable. */
  ready(): Promise<void> {
    return this.files ? this.files.ready(this.config.TLS_LOAD_TIMEOUT_MS) : Promise.resolve();
  }

  /** What the gRPC port binds with: insecure, TLS, or TLS requiring a client certificate from the CAs. */
  serverCredentials(): ServerCredentials {
    if (!this.files) return ServerCredentials.createInsecure();
    const provider = this.files.provider;
    // grpc-js 1.14 declares (ca, identity, requireClientCert) but its constructor takes (identity, ca, …). With
    // one provider for both the order does not matter in mtls; in tls the provider goes first, where both read
    // it as the identity, and the CA is null (no client certificate is asked for).
    return this.mode === "mtls"
      ? experimental.createCertificateProviderServerCredentials(provider, provider, true)
      : experimental.createCertificateProviderServerCredentials(provider, null, false);
  }

  /**
   * What clients dial with: insecure, or TLS verifying the server against the CAs and, in mtls, presenting this
   * process's certificate. One object for every client, so they share the watched files.
   */
  channelCredentials(): ChannelCredentials {
    if (!this.files) return grpcCredentials.createInsecure();
    const provider = this.files.provider;
    this.channel ??= experimental.createCertificateProviderChannelCredentials(
      provider,
      this.mode === "mtls" ? provider : null,
    );
    return this.channel;
  }

  /**
   * Channel options for a client of the Lattice service `peer`: over TLS, the server must present a certificate
   * naming `peer` (a DNS SAN), whatever address the target resolves to. Targets are often pod IPs (dns:/// to a
   * headless Service) or 127.0.0.1 in development, which no certificate names, and which service answers is what
   * matters; the CAs are the release's own, so a certificate naming `peer` was issued to that service.
   */
  channelOptions(peer: string): ChannelOptions {
    return this.files ? { "grpc.ssl_target_name_override": peer } : {};
  }

  close(): void {
    this.files?.close();
  }
}
