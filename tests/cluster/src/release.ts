import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { clusterEnv, nodeIp } from "./env.js";
import { kubectl, kubectlOk, nodePortsOpen } from "./kube.js";
import { TcpRelay } from "./relay.js";
import { run, type RunResult } from "./run.js";

export const repositoryRoot = fileURLToPath(new URL("../../../../", import.meta.url));
export const chartDir = join(repositoryRoot, "charts", "lattice");
/** The value set made for the test cluster (tests/cluster/values/cluster.yaml). */
export const clusterValues = join(repositoryRoot, "tests", "cluster", "values", "cluster.yaml");

export const helm = (args: readonly string[], timeoutMs = 300_000): Promise<RunResult> =>
  run(clusterEnv("HELM"), ["--kubeconfig", clusterEnv("KUBECONFIG"), ...args], { timeoutMs });

/**
 * One release of the chart in a namespace of its own, with a database of its own on the test PostgreSQL server and
 * relays on the node address to that server and to the test NATS server. The chart reaches them through
 * postgresql.url and nats.url (PostgreSQL and NATS run outside the cluster; see docs/deploy-checks.md).
 */
export class Release {
  readonly database: string;

  private constructor(
    readonly namespace: string,
    readonly name: string,
    readonly postgres: TcpRelay,
    readonly nats: TcpRelay,
  ) {
    this.database = `lattice_${namespace.replace(/-/g, "_")}`;
  }

  static async create(prefix: string, name = "lattice"): Promise<Release> {
    const namespace = `${prefix}-${randomBytes(3).toString("hex")}`;
    const admin = new URL(clusterEnv("TEST_DATABASE_URL"));
    const natsUrl = new URL(clusterEnv("TEST_NATS_URL"));
    const postgres = await TcpRelay.start(nodeIp(), { host: admin.hostname, port: Number(admin.port) });
    const nats = await TcpRelay.start(nodeIp(), { host: natsUrl.hostname, port: Number(natsUrl.port) });
    const release = new Release(namespace, name, postgres, nats);
    await release.sql(`CREATE DATABASE ${release.database}`);
    await kubectlOk(["create", "namespace", namespace]);
    return release;
  }

  /** postgres://… as pods reach the test server (through the relay on the node address). */
  get databaseUrl(): string {
    const admin = new URL(clusterEnv("TEST_DATABASE_URL"));
    return `postgres://${admin.username || "postgres"}@${this.postgres.host}:${this.postgres.port}/${this.database}`;
  }

  get natsUrl(): string {
    return `nats://${this.nats.host}:${this.nats.port}`;
  }

  /** The value files and settings every install of this release uses: the cluster set and this run's servers. */
  values(...extra: string[]): string[] {
    return [
      "--values",
      clusterValues,
      "--set",
      `postgresql.url=${this.databaseUrl}`,
      "--set",
      `postgresql.port=${this.postgres.port}`,
      "--set",
      `nats.url=${this.natsUrl}`,
      "--set",
      `nats.port=${this.nats.port}`,
      ...extra,
    ];
  }

  /**
   * helm upgrade --install of charts/lattice (or `chart`) with the cluster values, waiting for every pod and, once
   * it succeeded, for the release's node ports to accept connections.
   */
  async install(
    extra: string[] = [],
    options: { chart?: string; timeout?: string; wait?: boolean } = {},
  ): Promise<RunResult> {
    const result = await helm([
      "upgrade",
      "--install",
      this.name,
      options.chart ?? chartDir,
      "--namespace",
      this.namespace,
      ...(options.wait === false ? [] : ["--wait", "--timeout", options.timeout ?? "180s"]),
      ...this.values(...extra),
    ]);
    if (result.code === 0 && options.wait !== false) await nodePortsOpen(this.namespace);
    return result;
  }

  async sql(text: string, database = "postgres"): Promise<void> {
    const url = new URL(clusterEnv("TEST_DATABASE_URL"));
    url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  }

  /** Removes the release, the namespace (and so every pod), the relays and the database. */
  async close(): Promise<void> {
    await helm(["uninstall", this.name, "--namespace", this.namespace, "--wait", "--timeout", "60s"], 90_000);
    await kubectl(["delete", "namespace", this.namespace, "--wait=true", "--timeout=90s"], { timeoutMs: 120_000 });
    await this.postgres.close();
    await this.nats.close();
    await this.sql(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
  }
}
