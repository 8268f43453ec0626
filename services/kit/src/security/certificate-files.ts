import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { experimental } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";

type IdentityCertificateUpdate = experimental.IdentityCertificateUpdate;
type CaCertificateUpdate = experimental.CaCertificateUpdate;

export interface CertificateFilesOptions {
  /** PEM certificate chain (leaf first). */
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM bundle of the CAs peers must chain to. */
  readonly caFile: string;
  /** How often the files are read again (ms). */
  readonly refreshMs: number;
  readonly logger: Logger;
}

/**
 * The certificate, key and CA bundle of a process, read from files (as cert-manager or the csi-driver mount them)
 * and read again every `refreshMs` by grpc-js's FileWatcherCertificateProvider. The server and every client of the
 * process share this one provider, so a rotation reaches all of them: each new TLS handshake uses what was read
 * last, and open connections keep the certificate they were made with.
 *
 * The provider reports nothing itself; from `ready` on this watches it too, to tell start-up when the files were
 * first usable and to log each certificate it starts using and each failed read (once per distinct problem).
 */
export class CertificateFiles {
  readonly provider: experimental.FileWatcherCertificateProvider;
  private identity: IdentityCertificateUpdate | null | undefined;
  private ca: CaCertificateUpdate | null | undefined;
  private scheduled = false;
  private watching = false;
  private usable = false;
  private current = "";
  private lastProblem = "";
  private readonly waiters = new Set<() => void>();
  private readonly onIdentity = (update: IdentityCertificateUpdate | null) => {
    this.identity = update;
    this.schedule();
  };
  private readonly onCa = (update: CaCertificateUpdate | null) => {
    this.ca = update;
    this.schedule();
  };

  constructor(private readonly options: CertificateFilesOptions) {
    this.provider = new experimental.FileWatcherCertificateProvider({
      certificateFile: options.certFile,
      privateKeyFile: options.keyFile,
      caCertificateFile: options.caFile,
      refreshIntervalMs: options.refreshMs,
    });
  }

  /** The files' names, for messages. */
  get description(): string {
    const { certFile, keyFile, caFile } = this.options;
    return `TLS_CERT_FILE=${certFile}, TLS_KEY_FILE=${keyFile}, TLS_CA_FILE=${caFile}`;
  }

  /** True when the last read of the files gave a usable TLS context. */
  get isUsable(): boolean {
    return this.usable;
  }

  /**
   * Resolves once the files have been read and make a usable TLS context (readable, PEM, key matching the
   * certificate). Rejects after `timeoutMs` with the last problem seen. grpc-js drops connections that arrive
   * before the first load, so the server binds its port only after this.
   */
  ready(timeoutMs: number): Promise<void> {
    if (!this.watching) {
      this.watching = true;
      this.provider.addIdentityCertificateListener(this.onIdentity);
      this.provider.addCaCertificateListener(this.onCa);
    }
    if (this.usable) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        reject(
          new Error(
            `TLS certificate files not usable after ${timeoutMs} ms (${this.description}): ` +
              (this.lastProblem || "not read yet"),
          ),
        );
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Stops watching (the provider stops reading once grpc-js's own listeners are gone too). */
  close(): void {
    this.watching = false;
    this.provider.removeIdentityCertificateListener(this.onIdentity);
    this.provider.removeCaCertificateListener(this.onCa);
    for (const waiter of this.waiters) waiter();
  }

  // Both listeners fire in the same tick after each read; look at the pair once.
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.check();
    });
  }

  private check(): void {
    if (this.identity === undefined || this.ca === undefined) return;
    let problem = "";
    if (!this.identity) problem = "cannot read TLS_CERT_FILE or TLS_KEY_FILE";
    else if (!this.ca) problem = "cannot read TLS_CA_FILE";
    else {
      try {
        createSecureContext({
          cert: this.identity.certificate,
          key: this.identity.privateKey,
          ca: this.ca.caCertificate,
        });
      } catch (error) {
        problem = (error as Error).message;
      }
    }
    if (problem) {
      this.usable = false;
      if (problem !== this.lastProblem)
        this.options.logger.warn(
          { files: this.description, problem },
          "TLS files unusable: new connections fail until they are fixed (open ones keep working)",
        );
      this.lastProblem = problem;
      return;
    }
    this.usable = true;
    this.lastProblem = "";
    this.logIfNew(this.identity!.certificate);
    for (const waiter of [...this.waiters]) waiter();
  }

  private logIfNew(pem: Buffer): void {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(pem);
    } catch {
      return;
    }
    if (leaf.fingerprint256 === this.current) return;
    const first = this.current === "";
    this.current = leaf.fingerprint256;
    this.options.logger.info(
      {
        subject_alt_name: leaf.subjectAltName,
        serial: leaf.serialNumber,
        not_after: new Date(leaf.validTo).toISOString(),
        fingerprint_sha256: leaf.fingerprint256,
      },
      first ? "TLS certificate loaded" : "TLS certificate rotated: new handshakes use it",
    );
  }
}
