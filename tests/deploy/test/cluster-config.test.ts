import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseDocument } from "yaml";
import { serviceNames } from "../src/chart-contract.js";
import { serviceImageName, skaffoldArtifactVariable } from "../src/declaration-checks.js";
import { helmTemplateRaw, renderValueSet } from "../src/helm.js";
import { label, ofKind, parseManifests, type Deployment } from "../src/manifests.js";
import { repositoryRoot } from "../src/repository.js";
import { run } from "../src/run.js";
import { readSkaffold, skaffoldErrors, valuesOf, type SkaffoldDocument } from "../src/skaffold.js";
import { tool } from "../src/tools.js";

/** What skaffold fills its image variables with after a build (artifact names with "/" written as "_"). */
const builtImage = {
  repository: (artifact: string) => `registry.example/${artifact.replace(/_/g, "/")}`,
  tag: "0a1b2c3",
  digest: `sha256:${"0".repeat(64)}`,
};

function expandImageVariables(template: string): string {
  return template.replace(/\{\{\s*\.IMAGE_(REPO|TAG|DIGEST)_(\w+)\s*\}\}/g, (_match, part: string, artifact: string) =>
    part === "REPO" ? builtImage.repository(artifact) : part === "TAG" ? builtImage.tag : builtImage.digest,
  );
}

const skaffoldPath = join(repositoryRoot, "skaffold.yaml");
const kindConfigPath = join(repositoryRoot, "kind-config.yaml");
const at = (path: string) => join(repositoryRoot, path);

describe("skaffold.yaml", () => {
  const documents = (): SkaffoldDocument[] => readSkaffold(skaffoldPath);

  test("validates against skaffold's published schema for its apiVersion", () => {
    const docs = documents();
    assert.ok(docs.length > 0, "skaffold.yaml is empty");
    for (const document of docs)
      assert.deepEqual(skaffoldErrors(document), [], `apiVersion ${String(document.apiVersion)}`);
  });

  test("an unknown or misspelled field fails that validation", () => {
    const [document] = documents();
    assert.ok(document);
    const misspelled = { ...document, biuld: document.build };
    assert.ok(skaffoldErrors(misspelled).some((error) => error.includes("biuld")));
    const build = document.build as Record<string, unknown>;
    const nested = { ...document, build: { ...build, artifacts: [{ image: "lattice/x", dockerfil: "x" }] } };
    assert.notDeepEqual(skaffoldErrors(nested), []);
  });

  test("every service has an artifact whose Dockerfile and context exist", () => {
    const artifacts = documents().flatMap((doc) => valuesOf(doc, "artifacts").flat()) as {
      image: string;
      context?: string;
      docker?: { dockerfile?: string; buildArgs?: Record<string, string> };
    }[];
    for (const service of serviceNames) {
      const artifact = artifacts.find((a) => a.image === serviceImageName(service));
      assert.ok(artifact, `no artifact builds ${serviceImageName(service)}`);
      const context = at(artifact.context ?? ".");
      assert.ok(existsSync(context), `context ${artifact.context ?? "."} does not exist`);
      const dockerfile = join(context, artifact.docker?.dockerfile ?? "Dockerfile");
      assert.ok(existsSync(dockerfile), `${service}: ${dockerfile} does not exist`);
      const serviceArg = artifact.docker?.buildArgs?.SERVICE;
      assert.ok(serviceArg === undefined || serviceArg === service, `${service}: build arg SERVICE=${serviceArg}`);
    }
  });

  test("chart paths and values files exist, and the chart renders with each release's values", async () => {
    const releases = documents().flatMap((doc) => valuesOf(doc, "releases").flat()) as {
      chartPath?: string;
      valuesFiles?: string[];
      setValueTemplates?: Record<string, string>;
      setValues?: Record<string, unknown>;
    }[];
    assert.ok(releases.length > 0, "no helm release is deployed");
    for (const release of releases) {
      assert.ok(release.chartPath, "a release without chartPath");
      assert.ok(existsSync(join(at(release.chartPath), "Chart.yaml")), `${release.chartPath} is not a chart`);
      for (const file of release.valuesFiles ?? []) assert.ok(existsSync(at(file)), `${file} does not exist`);
      // The keys skaffold sets must be keys the chart's values.schema.json accepts, with the values skaffold puts in.
      const templates = Object.entries(release.setValueTemplates ?? {});
      const sets = [
        ...templates.map(([key, template]) => `${key}=${JSON.stringify(expandImageVariables(template))}`),
        ...Object.entries(release.setValues ?? {}).map(([key, value]) => `${key}=${JSON.stringify(value)}`),
      ];
      const result = await helmTemplateRaw({
        chart: at(release.chartPath),
        valuesFiles: (release.valuesFiles ?? []).map(at),
        setJson: sets,
      });
      assert.equal(result.code, 0, `helm template with ${release.chartPath} ${sets.join(" ")}:\n${result.stderr}`);
      // And every Deployment runs the image skaffold built for its service, pinned by digest where skaffold gives one.
      const deployments = ofKind(parseManifests(result.stdout), "Deployment") as Deployment[];
      for (const service of serviceNames) {
        const container = deployments
          .find((d) => label(d, "app.kubernetes.io/name") === service)
          ?.spec.template.spec.containers.find((c) => c.name === service);
        assert.ok(container, `${service}: no Deployment rendered`);
        const digested = templates.some(([key]) => key === `services.${service}.image.digest`);
        const expected = `${builtImage.repository(skaffoldArtifactVariable(serviceImageName(service)))}:${builtImage.tag}`;
        assert.equal(container.image, digested ? `${expected}@${builtImage.digest}` : expected, service);
      }
    }
  });
});

interface KindReport {
  readonly config: {
    readonly nodes?: readonly {
      readonly role?: string;
      readonly image?: string;
      readonly extraPortMappings?: readonly { containerPort?: number; hostPort?: number; listenAddress?: string }[];
    }[];
  };
  readonly defaultImage: string;
}

async function decodeKind(path: string): Promise<{ code: number; report?: KindReport; stderr: string }> {
  const result = await run(tool("LATTICE_KINDCONFIG"), [path]);
  return result.code === 0
    ? { code: 0, report: JSON.parse(result.stdout) as KindReport, stderr: result.stderr }
    : { code: result.code, stderr: result.stderr };
}

describe("kind-config.yaml", () => {
  test("decodes with kind's own v1alpha4 types, unknown fields rejected", async () => {
    const decoded = await decodeKind(kindConfigPath);
    assert.equal(decoded.code, 0, decoded.stderr);
  });

  test("a misspelled field is refused by the same decoder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lattice-kind-"));
    try {
      const document = parseDocument(readFileSync(kindConfigPath, "utf8"));
      document.set("nodez", []);
      const file = join(dir, "kind-config.yaml");
      writeFileSync(file, document.toString());
      const decoded = await decodeKind(file);
      assert.notEqual(decoded.code, 0);
      assert.match(decoded.stderr, /nodez/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("every node image is pinned by digest, to the Kubernetes version the schemas come from", async () => {
    const { report } = await decodeKind(kindConfigPath);
    const nodes = report?.config.nodes ?? [];
    assert.ok(nodes.length > 0, "no nodes declared: kind's default image would float with the kind version");
    for (const node of nodes) {
      assert.match(node.image ?? "", /^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/, `node ${node.role ?? ""}`);
      assert.equal(
        node.image,
        tool("LATTICE_KIND_NODE_IMAGE"),
        "the node image should be the default of the pinned kind version (scripts/deploy-tools/lib.sh), " +
          "whose Kubernetes version the offline schemas are generated for",
      );
    }
  });

  test("port mappings forward exactly the dev values' NodePorts", async () => {
    const { report } = await decodeKind(kindConfigPath);
    const controlPlane = report?.config.nodes?.find((node) => (node.role ?? "control-plane") === "control-plane");
    assert.ok(controlPlane, "no control-plane node");
    const mapped = (controlPlane.extraPortMappings ?? []).map((m) => m.containerPort).sort();
    const { manifests } = await renderValueSet("dev");
    const nodePorts = manifests
      .filter((m) => m.kind === "Service")
      .flatMap((m) => ((m.spec as { ports?: { nodePort?: number }[] }).ports ?? []).map((p) => p.nodePort))
      .filter((port): port is number => port !== undefined)
      .sort();
    assert.ok(nodePorts.length > 0, "the dev values expose no NodePort");
    assert.deepEqual(mapped, nodePorts);
    for (const mapping of controlPlane.extraPortMappings ?? []) {
      assert.ok(mapping.hostPort, `containerPort ${mapping.containerPort ?? "?"} has no hostPort`);
      assert.equal(mapping.listenAddress, "127.0.0.1", "forwarded ports should listen on loopback only");
    }
  });
});
