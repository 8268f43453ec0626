import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:net";
import {
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  PullPolicy,
  Wait,
  type BoundPorts,
  type ContainerRuntimeClient,
  type StartedTestContainer,
  type WaitStrategy,
} from "testcontainers";
import { eventually } from "@lattice/kit/testing";
import { waitServing } from "./health.js";
import { serviceImage, type ServiceName } from "./images.js";
import type { CommandResult } from "./podman.js";

/**
 * Containers through testcontainers, on podman's Docker-compatible API (scripts/containers/api.sh serves it;
 * DOCKER_HOST points at its socket). Everything a run makes carries RUN_LABEL with the run's id, and is removed by
 * that label when the run ends, passed or failed; with LATTICE_TEST_SESSION set (scripts/test.sh sets it) also
 * SESSION_LABEL, so the script can remove what a crashed test process left.
 */
export const RUN_LABEL = "io.lattice.test-run";
export const SESSION_LABEL = "io.lattice.test-session";

/** The ports every service image EXPOSEs: gRPC, admin (HTTP: /metrics, /livez, /readyz), gRPC health. */
const SERVICE_PORTS = { grpc: 50051, admin: 8081, health: 8091 } as const;

/** How long a container may take to serve, and `stop` waits after SIGTERM before SIGKILL. */
const STARTUP_TIMEOUT_MS = 60_000;
export const stopTimeoutSeconds = 15;

type DockerContainer = ReturnType<ContainerRuntimeClient["container"]["getById"]>;

let engine: Promise<ContainerRuntimeClient> | undefined;

/**
 * The container engine, connected once per process. Fails (never skips) with what to do when DOCKER_HOST is unset
 * or nothing answers there.
 */
export function containerEngine(): Promise<ContainerRuntimeClient> {
  engine ??= connectEngine();
  return engine;
}

async function connectEngine(): Promise<ContainerRuntimeClient> {
  const host = process.env["DOCKER_HOST"];
  const howTo =
    "npm test (scripts/test.sh) starts podman's API service with scripts/containers/api.sh and sets DOCKER_HOST";
  if (!host) throw new Error(`DOCKER_HOST is not set: these tests need a container engine's API. ${howTo}`);
  // Ryuk, testcontainers' reaper, is an image pulled from a registry, which these machines cannot reach; the tests
  // remove what they made by label instead.
  process.env["TESTCONTAINERS_RYUK_DISABLED"] = "true";
  // Ports are published on 127.0.0.1 only (see ServiceImageContainer); inside a container testcontainers would
  // guess the podman bridge's gateway as the host instead.
  process.env["TESTCONTAINERS_HOST_OVERRIDE"] = "127.0.0.1";
  try {
    return await getContainerRuntimeClient();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`no container engine answers at DOCKER_HOST=${host} (${reason}). ${howTo}`, { cause: error });
  }
}

/**
 * A TCP port free on every one of `hosts` (loopback addresses) right now, for replicas published on one port at
 * several addresses (ServiceContainerOptions.grpcOn).
 */
export async function freeLoopbackPort(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await listenOn(hosts[0] ?? "127.0.0.1", 0);
    if (!first) continue;
    const port = first.port;
    const others = await Promise.all(hosts.slice(1).map((host) => listenOn(host, port)));
    for (const server of [first, ...others]) server?.close();
    if (others.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(", ")}`);
}

/** A server listening on host:port, or undefined when that is taken. */
function listenOn(host: string, port: number): Promise<(Server & { port: number }) | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? Object.assign(server, { port: address.port }) : undefined);
    });
  });
}

/** A network a run made, and the host's address on it (the bridge's gateway). */
export interface TestNetwork {
  readonly name: string;
  readonly gateway: string;
}

/** A service's image running in a container, reachable from the host on 127.0.0.1 and from its network by name. */
export interface ServiceContainer {
  readonly service: ServiceName;
  readonly name: string;
  /** host:port of the gRPC port as published: on 127.0.0.1, or where ServiceContainerOptions.grpcOn says. */
  readonly grpcAddress: string;
  /** The plaintext health port (grpc.health.v1 only, for kubelet probes) as published on 127.0.0.1. */
  readonly healthAddress: string;
  /** The admin HTTP port (/metrics, /livez, /readyz) as published on 127.0.0.1. */
  readonly adminAddress: string;
  /** Its IPv4 address on the run's network: what a headless Service's name lists for a pod, for other containers. */
  readonly ip: string;
  /** SIGTERM, then SIGKILL after stopTimeoutSeconds; resolves with the exit code once it has stopped. */
  stop(): Promise<number>;
  /** SIGKILL, as when a node dies or the kernel kills for memory; resolves once it has stopped. */
  kill(): Promise<void>;
  /** Freezes every process (the cgroup freezer): connections stay open, nothing answers. */
  pause(): Promise<void>;
  unpause(): Promise<void>;
  /** Runs a command inside; resolves with its exit code and output whatever it is. */
  exec(command: readonly string[]): Promise<CommandResult>;
  /** Messages ("msg") of the service's JSON log lines so far (the service logs JSON: LOG_FORMAT=json). */
  messages(): Promise<string[]>;
}

export interface ServiceContainerOptions {
  network: TestNetwork;
  /** The service's configuration; LOG_FORMAT=json and SHUTDOWN_DRAIN_MS=500 unless given. */
  env?: Record<string, string>;
  /** Like Kubernetes' readOnlyRootFilesystem with no volumes: nothing writable, not even /tmp. Default true. */
  readOnly?: boolean;
  /**
   * Publish the gRPC port on this loopback address and port instead of an ephemeral port of 127.0.0.1: replicas on
   * 127.0.0.2, 127.0.0.3, … with one port are what a DNS name with several A records can point at, and a
   * replica that stops leaves an address that refuses connections at once, on loopback (see freeLoopbackPort).
   */
  grpcOn?: { host: string; port: number };
}

/** The containers and networks of one test file's run, labelled with its id and removed together. */
export class ContainerRun {
  private constructor(
    readonly engine: ContainerRuntimeClient,
    /** Random; names and the run label carry it. */
    readonly id: string,
    private readonly purpose: string,
  ) {}

  /** Connects to the engine (see containerEngine) and checks the images are in local storage: nothing is pulled. */
  static async open(purpose: string, images: readonly string[]): Promise<ContainerRun> {
    const run = new ContainerRun(await containerEngine(), randomBytes(4).toString("hex"), purpose);
    for (const image of images) {
      if (!(await run.engine.image.exists(ImageName.fromString(image))))
        throw new Error(`image ${image} is missing: scripts/containers/build.sh builds it (npm test runs it)`);
    }
    return run;
  }

  /** A name unique to this run: lattice-<purpose>-<role>-<id>. */
  name(role: string): string {
    return `lattice-${this.purpose}-${role}-${this.id}`;
  }

  /** The labels of everything this run makes. */
  get labels(): Record<string, string> {
    const session = process.env["LATTICE_TEST_SESSION"];
    return { [RUN_LABEL]: this.id, ...(session ? { [SESSION_LABEL]: session } : {}) };
  }

  /**
   * A bridge network of this run's, with an idle container attached: a bridge (and so the gateway address the
   * host listens on for the containers, see tcp-relay.ts) exists only while a container is attached to it.
   */
  async createNetwork(role = "net"): Promise<TestNetwork> {
    const name = this.name(role);
    const network = await this.engine.network.create({ Name: name, Driver: "bridge", Labels: this.labels });
    const info = (await network.inspect()) as { IPAM?: { Config?: { Gateway?: string }[] } };
    const gateway = info.IPAM?.Config?.map((config) => config.Gateway).find((address) =>
      /^\d+\.\d+\.\d+\.\d+$/.test(address ?? ""),
    );
    if (!gateway) throw new Error(`network ${name} has no IPv4 gateway`);
    // Any image with a shell will do; the greeter's is always built with the others.
    await this.container(serviceImage("greeter"), `${role}-anchor`, name)
      .withEntrypoint(["sleep"])
      .withCommand(["infinity"])
      .withWaitStrategy(Wait.forSuccessfulCommand("true"))
      .start();
    return { name, gateway };
  }

  /**
   * Starts `service`'s image as a non-root container on the network, every exposed port published on 127.0.0.1,
   * and resolves once gRPC health reports SERVING through the published gRPC port. A container that stops or does
   * not serve in time fails the start, with its logs in the message.
   */
  async startService(service: ServiceName, role: string, options: ServiceContainerOptions): Promise<ServiceContainer> {
    const name = this.name(role);
    const readOnly = options.readOnly ?? true;
    const grpcHost = options.grpcOn?.host ?? "127.0.0.1";
    const builder = this.container(serviceImage(service), role, options.network.name, options.grpcOn)
      .withEnvironment({ LOG_FORMAT: "json", SHUTDOWN_DRAIN_MS: "500", ...options.env })
      .withSecurityOpt("no-new-privileges")
      .withWaitStrategy(new GrpcHealthWaitStrategy(name, grpcHost))
      .withStartupTimeout(STARTUP_TIMEOUT_MS);
    if (readOnly) {
      // What the chart's securityContext asks for. podman's compatible API mounts writable tmpfs on /tmp, /var/tmp
      // and /run under a read-only root (the CLI's --read-only-tmpfs); read-only ones there match a cluster's
      // readOnlyRootFilesystem without emptyDir volumes.
      builder.readOnlyRoot().withTmpFs({ "/tmp": "ro", "/var/tmp": "ro", "/run": "ro" }).withDroppedCapabilities("ALL");
    }
    const started = await builder.start();
    return serviceContainer(this.engine, service, started, grpcHost, options.network);
  }

  /** Removes every container and network of this run (running or not); what is already gone is fine. */
  async removeAll(): Promise<void> {
    const filters = { label: [`${RUN_LABEL}=${this.id}`] };
    const { dockerode } = this.engine.container;
    const containers = await dockerode.listContainers({ all: true, filters });
    await Promise.all(
      containers.map((container) =>
        dockerode
          .getContainer(container.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    for (const network of await dockerode.listNetworks({ filters })) {
      await dockerode
        .getNetwork(network.Id)
        .remove()
        .catch(() => undefined);
    }
  }

  /** A container of this run: named, labelled, on `network`, never pulled, every EXPOSEd port published. */
  private container(
    image: string,
    role: string,
    network: string,
    grpcOn?: { host: string; port: number },
  ): ServiceImageContainer {
    return (
      new ServiceImageContainer(image, grpcOn)
        .withName(this.name(role))
        .withLabels(this.labels)
        .withNetworkMode(network)
        .withPullPolicy(PullPolicy.neverPull())
        // All the image EXPOSEs, even when unused: podman reports a binding for each, and testcontainers waits
        // until every reported binding is published.
        .withExposedPorts(SERVICE_PORTS.grpc, SERVICE_PORTS.admin, SERVICE_PORTS.health)
    );
  }
}

/** GenericContainer with ports published on 127.0.0.1 only, and an optional read-only root filesystem. */
class ServiceImageContainer extends GenericContainer {
  private readOnly = false;

  constructor(
    image: string,
    private readonly grpcOn?: { host: string; port: number },
  ) {
    super(image);
  }

  readOnlyRoot(): this {
    this.readOnly = true;
    return this;
  }

  protected override async beforeContainerCreated(): Promise<void> {
    // testcontainers publishes on every interface; the services take unauthenticated calls, so publish on
    // loopback only, as `podman run -p 127.0.0.1::PORT` does.
    const bindings = this.hostConfig.PortBindings as Record<string, unknown> | undefined;
    for (const port of Object.keys(bindings ?? {})) bindings![port] = [{ HostIp: "127.0.0.1", HostPort: "0" }];
    if (this.grpcOn && bindings)
      bindings[`${SERVICE_PORTS.grpc}/tcp`] = [{ HostIp: this.grpcOn.host, HostPort: String(this.grpcOn.port) }];
    if (this.readOnly) this.hostConfig.ReadonlyRootfs = true;
  }
}

/** Ready when gRPC health on the published gRPC port says SERVING; fails at once when the container stops. */
class GrpcHealthWaitStrategy implements WaitStrategy {
  private timeoutMs = STARTUP_TIMEOUT_MS;
  private timeoutSet = false;

  constructor(
    private readonly name: string,
    private readonly grpcHost: string,
  ) {}

  async waitUntilReady(container: DockerContainer, boundPorts: BoundPorts): Promise<void> {
    const address = `${this.grpcHost}:${boundPorts.getBinding(SERVICE_PORTS.grpc)}`;
    try {
      await waitServing(address, {
        timeoutMs: this.timeoutMs,
        alive: async () => (await container.inspect()).State.Running,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // testcontainers removes a container that failed its wait: keep its logs in the message.
      throw new Error(`container ${this.name} did not serve: ${message}\n${await logsOf(container)}`, {
        cause: error,
      });
    }
  }

  withStartupTimeout(startupTimeoutMs: number): this {
    this.timeoutMs = startupTimeoutMs;
    this.timeoutSet = true;
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.timeoutSet;
  }

  getStartupTimeout(): number {
    return this.timeoutMs;
  }
}

function serviceContainer(
  engine: ContainerRuntimeClient,
  service: ServiceName,
  started: StartedTestContainer,
  grpcHost: string,
  network: TestNetwork,
): ServiceContainer {
  const container = engine.container.getById(started.getId());
  const published = (port: number) => `127.0.0.1:${started.getMappedPort(port)}`;
  const running = async () => (await container.inspect()).State.Running;
  return {
    service,
    name: started.getName().replace(/^\//, ""),
    grpcAddress: `${grpcHost}:${started.getMappedPort(SERVICE_PORTS.grpc)}`,
    healthAddress: published(SERVICE_PORTS.health),
    adminAddress: published(SERVICE_PORTS.admin),
    ip: started.getIpAddress(network.name),
    stop: async () => {
      await started.stop({ timeout: stopTimeoutSeconds * 1000, remove: false });
      return (await container.inspect()).State.ExitCode;
    },
    kill: async () => {
      await container.kill({ signal: "SIGKILL" });
      await eventually(
        async () => {
          if (await running()) throw new Error(`${started.getName()} still runs after SIGKILL`);
        },
        { withinMs: 10_000, intervalMs: 50 },
      );
    },
    pause: async () => {
      await container.pause();
    },
    unpause: async () => {
      await container.unpause();
    },
    exec: async (command) => {
      const result = await started.exec([...command]);
      return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    },
    messages: async () =>
      (await logsOf(container))
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => String((JSON.parse(line) as Record<string, unknown>)["msg"])),
  };
}

/** Standard output and error of the container so far, as text. */
async function logsOf(container: DockerContainer): Promise<string> {
  try {
    const raw: unknown = await container.logs({ stdout: true, stderr: true, follow: false });
    return demultiplex(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
  } catch (error) {
    return `(no logs: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/**
 * The Docker API interleaves a container's stdout and stderr (without a TTY) in frames: one byte for the stream,
 * three zero bytes, a 32-bit big-endian length, then the payload. Anything else is taken as plain text.
 */
function demultiplex(raw: Buffer): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const stream = raw[offset];
    if ((stream !== 0 && stream !== 1 && stream !== 2) || raw.readUIntBE(offset + 1, 3) !== 0)
      return raw.toString("utf8");
    const length = raw.readUInt32BE(offset + 4);
    chunks.push(raw.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return offset === raw.length ? Buffer.concat(chunks).toString("utf8") : raw.toString("utf8");
}
