import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate authority made for one test run. */
export interface TestCa {
  readonly name: string;
  /** PEM certificate file. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly directory: string;
}

/** A certificate and its key, as files. */
export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA that issued it. */
  readonly caFile: string;
}

export interface LeafOptions {
  /** subjectAltName DNS names, e.g. ["payment"]. */
  readonly dnsNames?: readonly string[];
  /** subjectAltName URIs, e.g. ["spiffe://lattice.test/ns/test/sa/payment"]. */
  readonly uris?: readonly string[];
  readonly ips?: readonly string[];
  /** Validity; by default from an hour ago to a day from now. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

/**
 * Certificates made at test time with openssl (EC P-256), in a fresh temporary folder removed by `remove()`: CAs,
 * and leaves with any SANs and any validity (expired and not-yet-valid ones included, through `openssl ca`). No key
 * is ever committed; every run makes its own.
 *
 *   await using pki = await TestPki.create();
 *   const ca = await pki.ca("test-ca");
 *   const server = await pki.leaf(ca, "payment", { dnsNames: ["payment"] });
 */
export class TestPki {
  private serial = 0;

  private constructor(readonly directory: string) {}

  static async create(): Promise<TestPki> {
    await run("openssl", ["version"]).catch((error: unknown) => {
      throw new Error(`openssl is needed to make test certificates: ${String(error)}`);
    });
    return new TestPki(mkdtempSync(join(tmpdir(), "lattice-pki-")));
  }

  /** A self-signed CA valid from an hour ago for two days. */
  async ca(name: string): Promise<TestCa> {
    const directory = join(this.directory, name);
    mkdirSync(join(directory, "issued"), { recursive: true });
    writeFileSync(join(directory, "index.txt"), "");
    writeFileSync(join(directory, "serial"), "1000\n");
    writeFileSync(
      join(directory, "ca.cnf"),
      [
        "[ca]",
        "default_ca = ca_default",
        "[ca_default]",
        `database = ${join(directory, "index.txt")}`,
        `new_certs_dir = ${join(directory, "issued")}`,
        `serial = ${join(directory, "serial")}`,
        "default_md = sha256",
        "policy = any_name",
        "unique_subject = no",
        "copy_extensions = none",
        "[any_name]",
        "commonName = supplied",
        "",
      ].join("\n"),
    );
    const certFile = join(directory, "ca.crt");
    const keyFile = join(directory, "ca.key");
    await run("openssl", [
      "req",
      "-x509",
      ...ecKey(keyFile),
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    return { name, certFile, keyFile, directory };
  }

  /** A leaf certificate for servers and clients alike (serverAuth, clientAuth) issued by `ca`. */
  async leaf(ca: TestCa, name: string, options: LeafOptions = {}): Promise<TestCertificate> {
    const id = `${name}-${++this.serial}`;
    const keyFile = join(this.directory, `${id}.key`);
    const csr = join(this.directory, `${id}.csr`);
    const certFile = join(this.directory, `${id}.crt`);
    const extFile = join(this.directory, `${id}.ext`);
    const san = [
      ...(options.dnsNames ?? []).map((dns) => `DNS:${dns}`),
      ...(options.uris ?? []).map((uri) => `URI:${uri}`),
      ...(options.ips ?? []).map((ip) => `IP:${ip}`),
    ];
    writeFileSync(
      extFile,
      [
        "[leaf]",
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage = serverAuth,clientAuth",
        ...(san.length > 0 ? [`subjectAltName = ${san.join(",")}`] : []),
        "",
      ].join("\n"),
    );
    await run("openssl", ["req", "-new", ...ecKey(keyFile), "-out", csr, "-subj", `/CN=${name}`]);
    const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000);
    const notAfter = options.notAfter ?? new Date(Date.now() + 86_400_000);
    await run("openssl", [
      "ca",
      "-batch",
      "-notext",
      "-config",
      join(ca.directory, "ca.cnf"),
      "-cert",
      ca.certFile,
      "-keyfile",
      ca.keyFile,
      "-in",
      csr,
      "-out",
      certFile,
      "-startdate",
      asn1Time(notBefore),
      "-enddate",
      asn1Time(notAfter),
      "-extfile",
      extFile,
      "-extensions",
      "leaf",
    ]);
    return { certFile, keyFile, caFile: ca.certFile };
  }

  /** A file holding the certificates of several CAs, as a trust bundle during a CA rotation. */
  bundle(name: string, ...cas: readonly TestCa[]): string {
    const file = join(this.directory, `${name}.pem`);
    writeFileSync(file, cas.map((ca) => readFileSync(ca.certFile, "utf8")).join(""));
    return file;
  }

  remove(): void {
    rmSync(this.directory, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.remove();
  }
}

/**
 * Copies `source` over `target` atomically (write beside it, then rename), as the kubelet swaps a mounted Secret's
 * files: a reader never sees half a file.
 */
export function replaceFile(target: string, source: string): void {
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, readFileSync(source));
  renameSync(temporary, target);
}

function ecKey(keyFile: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile];
}

/** openssl ca's date form, YYMMDDHHMMSSZ (UTC). */
function asn1Time(date: Date): string {
  const iso = date.toISOString(); // 2026-05-04T12:34:56.789Z
  return `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}
