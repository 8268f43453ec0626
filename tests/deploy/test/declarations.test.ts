import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseDocument } from "yaml";
import type { ServiceDeclaration } from "@lattice/kit";
import {
  chartValuesProblems,
  declarationProblems,
  imageValueTemplates,
  rootProjectProblems,
  serviceImageName,
  skaffoldProblems,
  workspaceCovers,
} from "../src/declaration-checks.js";
import { declarations } from "../src/declarations.js";
import { repositoryRoot } from "../src/repository.js";
import { readSkaffold } from "../src/skaffold.js";

type Json = Record<string, unknown>;

const at = (path: string) => join(repositoryRoot, path);
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Json;
const readYaml = (path: string) => parseDocument(readFileSync(path, "utf8")).toJS() as Json;
function readSkaffoldConfig(path: string): Json {
  const [document] = readSkaffold(path);
  assert.ok(document, `${path} holds no document`);
  return document;
}

/** A copy of the declarations to break, and the first one `pick` accepts. */
function brokenCopy(pick: (declaration: ServiceDeclaration) => boolean): {
  copy: ServiceDeclaration[];
  target: ServiceDeclaration;
} {
  const copy = structuredClone(declarations) as ServiceDeclaration[];
  const target = copy.find(pick);
  assert.ok(target, "no declared service has what this check needs");
  return { copy, target };
}

/** The chart's services map entry of `service` in a parsed values file. */
const entryOf = (values: Json, service: string) => (values.services as Record<string, Json>)[service]!;

describe("the service declarations", () => {
  test("agree with each other: calls, consumed streams and events, ports, schemas, folder names", () => {
    assert.ok(declarations.length > 0, "no declared service in services/");
    assert.deepEqual(declarationProblems(declarations, repositoryRoot), []);
  });

  test("skaffold.yaml builds every declared service and hands each its image in every setValueTemplates", () => {
    assert.deepEqual(skaffoldProblems(declarations, readSkaffoldConfig(at("skaffold.yaml"))), []);
  });

  test("the chart's services map has each service with its calls, schema and NATS", () => {
    assert.deepEqual(chartValuesProblems(declarations, readYaml(at("charts/lattice/values.yaml"))), []);
  });

  test("the root package.json and tsconfig.json make every service a workspace and build it", () => {
    assert.deepEqual(
      rootProjectProblems(declarations, readJson(at("package.json")), readJson(at("tsconfig.json"))),
      [],
    );
  });
});

describe("each check fails on a broken copy, naming the file, the service and the difference", () => {
  test("a call to an undeclared service, and a service calling itself", () => {
    const { copy, target } = brokenCopy((d) => d.calls.length > 0);
    target.calls.push("nobody", target.name);
    assert.deepEqual(declarationProblems(copy, repositoryRoot), [
      `services/${target.name}/package.json: ${target.name} calls "nobody", which no service declares`,
      `services/${target.name}/package.json: ${target.name} calls itself`,
    ]);
  });

  test("a consumed stream nobody publishes, and a consumed event its publisher does not publish", () => {
    const { copy, target } = brokenCopy((d) => (d.events?.consumes.length ?? 0) > 0);
    const consumed = target.events!.consumes[0]!;
    consumed.events.push("lattice.nowhere.v1.Nothing");
    assert.match(
      declarationProblems(copy, repositoryRoot).join("\n"),
      new RegExp(
        `services/${target.name}/package.json: ${target.name} consumes lattice\\.nowhere\\.v1\\.Nothing from ` +
          `${consumed.stream}, which \\w+ does not publish`,
      ),
    );
    consumed.stream = "LATTICE_NOWHERE";
    assert.ok(
      declarationProblems(copy, repositoryRoot).includes(
        `services/${target.name}/package.json: ${target.name} consumes LATTICE_NOWHERE, which no service publishes`,
      ),
    );
  });

  test("two publishers of one stream, a shared port, a shared schema, a folder not named after the service", () => {
    const { copy, target } = brokenCopy((d) => d.events?.publishes !== undefined && d.database !== undefined);
    // One checked after the target, so the problems are reported on it.
    const other = copy[copy.indexOf(target) + 1];
    assert.ok(other, "the check needs a service declared after one that publishes and owns data");
    const stream = target.events!.publishes!.stream;
    const schema = target.database!.schema;
    const file = "services/elsewhere/package.json";
    copy[copy.indexOf(other)] = {
      ...other,
      directory: join(repositoryRoot, "services", "elsewhere"),
      events: { publishes: target.events!.publishes!, consumes: [] },
      ports: { ...other.ports, admin: target.ports.grpc },
      database: { schema },
    };
    assert.deepEqual(
      declarationProblems(copy, repositoryRoot).filter((problem) => problem.startsWith(file)),
      [
        `${file}: ${other.name} publishes ${stream}, which ${target.name} publishes too`,
        `${file}: declares @lattice/${other.name}, but its folder is services/elsewhere, not services/${other.name}`,
        `${file}: ${other.name}'s admin port ${target.ports.grpc} is also ${target.name}'s grpc port`,
        `${file}: ${other.name}'s database schema ${schema} is also ${target.name}'s`,
      ],
    );
  });

  test("skaffold.yaml: a missing artifact, a wrong build arg, a stray artifact", () => {
    const document = readSkaffoldConfig(at("skaffold.yaml"));
    const [first, second] = declarations;
    assert.ok(first && second, "the checks need two declared services");
    const broken = structuredClone(document);
    const brokenArtifacts = (broken.build as { artifacts: { image: string; docker: { buildArgs: Json } }[] }).artifacts;
    brokenArtifacts.splice(
      brokenArtifacts.findIndex((a) => a.image === serviceImageName(first.name)),
      1,
    );
    brokenArtifacts.find((a) => a.image === serviceImageName(second.name))!.docker.buildArgs.SERVICE = first.name;
    brokenArtifacts.push({ image: "localhost/lattice/retired", docker: { buildArgs: { SERVICE: "retired" } } });
    assert.deepEqual(skaffoldProblems(declarations, broken), [
      `skaffold.yaml: no build artifact for service ${first.name} (image ${serviceImageName(first.name)} with build arg SERVICE=${first.name})`,
      `skaffold.yaml: artifact ${serviceImageName(second.name)} of ${second.name}: build arg SERVICE=${first.name}, not ${second.name}`,
      "skaffold.yaml: artifact localhost/lattice/retired builds no declared service",
    ]);
  });

  test("skaffold.yaml: a setValueTemplates entry missing or wrong in the default deploy and in a profile", () => {
    const broken = readSkaffoldConfig(at("skaffold.yaml"));
    const [first, second] = declarations;
    assert.ok(first && second);
    const templates = (owner: unknown) =>
      (owner as { deploy: { helm: { releases: { setValueTemplates?: Json }[] } } }).deploy.helm.releases[0]!
        .setValueTemplates!;
    const profile = (broken.profiles as Json[]).find((p) => {
      const releases = (p as { deploy?: { helm?: { releases?: { setValueTemplates?: Json }[] } } }).deploy?.helm
        ?.releases;
      return releases?.some((release) => release.setValueTemplates !== undefined);
    });
    assert.ok(profile, "no profile lists setValueTemplates");
    const pinned = Object.keys(templates(profile)).some((key) => key.endsWith(".image.digest"));
    Reflect.deleteProperty(templates(broken), `services.${first.name}.image.tag`);
    templates(profile)[`services.${second.name}.image.repository`] = "{{.IMAGE_REPO_localhost_lattice_other}}";
    if (pinned) Reflect.deleteProperty(templates(profile), `services.${first.name}.image.digest`);
    templates(profile)["services.retired.image.tag"] = "{{.IMAGE_TAG_localhost_lattice_retired}}";
    const expected = imageValueTemplates(first.name, true);
    const problems = skaffoldProblems(declarations, broken);
    const where = `skaffold.yaml (profile ${String(profile.name)}, release lattice)`;
    assert.deepEqual(problems, [
      `skaffold.yaml (default deploy, release lattice): setValueTemplates lacks services.${first.name}.image.tag: ` +
        `"${expected[`services.${first.name}.image.tag`]}" for ${first.name}`,
      ...(pinned
        ? [
            `${where}: setValueTemplates lacks services.${first.name}.image.digest: ` +
              `"${expected[`services.${first.name}.image.digest`]}" for ${first.name}`,
          ]
        : []),
      `${where}: setValueTemplates services.${second.name}.image.repository is "{{.IMAGE_REPO_localhost_lattice_other}}", ` +
        `not "${imageValueTemplates(second.name, false)[`services.${second.name}.image.repository`]}" for ${second.name}`,
      `${where}: setValueTemplates services.retired.image.tag names retired, which no service declares`,
    ]);
  });

  test("values.yaml: calls, schema, NATS, disabled, missing and stray entries", () => {
    const file = "charts/lattice/values.yaml";
    const values = readYaml(at(file));
    const caller = declarations.find((d) => d.calls.length > 0);
    const owner = declarations.find((d) => d.database !== undefined && d.events !== undefined);
    const plain = declarations.find((d) => d.database === undefined && d.events === undefined);
    assert.ok(caller && owner && plain, "the checks need a caller, a data owner with events and a plain service");
    const broken = structuredClone(values);
    entryOf(broken, caller.name).calls = caller.calls.slice(1);
    entryOf(broken, owner.name).database = { enabled: true, schema: "elsewhere" };
    delete entryOf(broken, owner.name).nats;
    entryOf(broken, plain.name).nats = true;
    entryOf(broken, plain.name).enabled = false;
    (broken.services as Json).retired = { enabled: true };
    const problems = chartValuesProblems(declarations, broken);
    const sorted = (items: string[]) => [...items].sort().join(", ") || "none";
    for (const expected of [
      `${file}: services.${caller.name}.calls is [${sorted(caller.calls.slice(1))}], its declaration calls [${sorted(caller.calls)}]`,
      `${file}: services.${owner.name}.database.schema is elsewhere, its declaration says ${owner.database!.schema}`,
      `${file}: services.${owner.name}.nats is not true, but ${owner.name} declares events`,
      `${file}: services.${plain.name}.nats is true, but ${plain.name} declares no events`,
      `${file}: services.${plain.name}.enabled is false, not true`,
      `${file}: services.retired is no declared service (no services/retired/package.json with a lattice block)`,
    ])
      assert.ok(problems.includes(expected), `expected "${expected}" among:\n${problems.join("\n")}`);

    const missing = structuredClone(values);
    Reflect.deleteProperty(missing.services as Json, owner.name);
    entryOf(missing, plain.name).database = { enabled: true, schema: "x" };
    assert.deepEqual(chartValuesProblems(declarations, missing), [
      `${file}: services.${plain.name}.database is enabled, but ${plain.name} declares no database`,
      `${file}: services.${owner.name} is missing (every declared service needs an entry)`,
    ]);
  });

  test("values.yaml broken on disk is caught through the same reading", () => {
    const dir = mkdtempSync(join(tmpdir(), "lattice-declarations-"));
    try {
      const copy = join(dir, "values.yaml");
      copyFileSync(at("charts/lattice/values.yaml"), copy);
      const owner = declarations.find((d) => d.database !== undefined);
      assert.ok(owner);
      const document = parseDocument(readFileSync(copy, "utf8"));
      document.setIn(["services", owner.name, "database", "schema"], "renamed");
      writeFileSync(copy, document.toString());
      assert.deepEqual(chartValuesProblems(declarations, readYaml(copy), "values.yaml (copy)"), [
        `values.yaml (copy): services.${owner.name}.database.schema is renamed, its declaration says ${owner.database!.schema}`,
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("package.json and tsconfig.json: a service that is no workspace and not built", () => {
    const [first] = declarations;
    assert.ok(first);
    const packageJson = readJson(at("package.json"));
    packageJson.workspaces = ["proto", "services/kit"];
    const tsconfig = readJson(at("tsconfig.json"));
    tsconfig.references = (tsconfig.references as { path: string }[]).filter(
      (r) => r.path !== `services/${first.name}`,
    );
    const problems = rootProjectProblems(declarations, packageJson, tsconfig);
    assert.ok(
      problems.includes(
        `package.json: workspaces [proto, services/kit] do not include services/${first.name} (service ${first.name})`,
      ),
      problems.join("\n"),
    );
    assert.ok(
      problems.includes(
        `tsconfig.json: references do not include services/${first.name} (service ${first.name}), so tsc -b does not build it`,
      ),
      problems.join("\n"),
    );
    assert.equal(
      problems.length,
      declarations.length + 1,
      "every service is named as not a workspace, one as not built",
    );
  });

  test("workspace patterns match a folder by segment", () => {
    assert.ok(workspaceCovers("services/*", "services/order"));
    assert.ok(workspaceCovers("./services/order/", "services/order"));
    assert.ok(!workspaceCovers("services/*", "services/order/extra"));
    assert.ok(!workspaceCovers("tests/*", "services/order"));
    assert.ok(!workspaceCovers("services/ord", "services/order"));
  });
});
