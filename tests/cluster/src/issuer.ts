import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOk } from "./run.js";

export interface Issued {
  readonly cert: string;
  readonly key: string;
  readonly serial: string;
}

/**
 * A private CA made with openssl, issuing what a cert-manager CA issuer would for a Certificate: a P-256 key, the
 * DNS names and URIs asked for, server and client use. Stands in for cert-manager's controller, which is not built
 * here (see docs/deploy-checks.md); the Secrets it fills have cert-manager's layout (tls.crt, tls.key, ca.crt).
 */
export class TestIssuer {
  private constructor(
    private readonly dir: string,
    readonly caCert: string,
  ) {}

  static async create(): Promise<TestIssuer> {
    const dir = mkdtempSync(join(tmpdir(), "lattice-issuer-"));
    await runOk("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=lattice-test-ca",
      "-keyout",
      join(dir, "ca.key"),
      "-out",
      join(dir, "ca.crt"),
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    return new TestIssuer(dir, readFileSync(join(dir, "ca.crt"), "utf8"));
  }

  async issue(commonName: string, dnsNames: readonly string[], uris: readonly string[] = []): Promise<Issued> {
    const base = join(this.dir, `${commonName}-${Date.now()}`);
    const sans = [...dnsNames.map((n) => `DNS:${n}`), ...uris.map((u) => `URI:${u}`)].join(",");
    writeFileSync(
      `${base}.ext`,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth,clientAuth",
        ...(sans ? [`subjectAltName=${sans}`] : []),
      ].join("\n"),
    );
    await runOk("openssl", [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      `/CN=${commonName}`,
      "-keyout",
      `${base}.key`,
      "-out",
      `${base}.csr`,
    ]);
    await runOk("openssl", [
      "x509",
      "-req",
      "-in",
      `${base}.csr`,
      "-CA",
      join(this.dir, "ca.crt"),
      "-CAkey",
      join(this.dir, "ca.key"),
      "-set_serial",
      `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
      "-days",
      "1",
      "-extfile",
      `${base}.ext`,
      "-out",
      `${base}.crt`,
    ]);
    const serial = (await runOk("openssl", ["x509", "-in", `${base}.crt`, "-noout", "-serial"]))
      .trim()
      .replace(/^serial=/, "");
    return { cert: readFileSync(`${base}.crt`, "utf8"), key: readFileSync(`${base}.key`, "utf8"), serial };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
