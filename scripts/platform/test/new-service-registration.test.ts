import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parseDocument } from "yaml";
import {
  chartValuesEntry,
  imageValueTemplates,
  withChartValuesEntry,
  withSkaffoldService,
  withTsconfigReference,
} from "../src/new-service/registration.js";
import { repositoryRoot } from "../src/repository.js";

const read = (path: string) => readFileSync(`${repositoryRoot}${path}`, "utf8");

/** The lines of `after` that `before` lacks, in order (the registrations only add). */
function added(before: string, after: string): string[] {
  const old = before.split("\n");
  const lines = after.split("\n");
  const result: string[] = [];
  let index = 0;
  for (const line of lines) {
    if (line === old[index]) index += 1;
    else result.push(line);
  }
  assert.equal(index, old.length, "a line of the original was changed or dropped");
  return result;
}

describe("registering a new service", () => {
  it("adds a tsconfig reference after the other services, and nothing twice", () => {
    const tsconfig = read("tsconfig.json");
    const changed = withTsconfigReference(tsconfig, "services/inventory");
    const paths = (JSON.parse(changed) as { references: { path: string }[] }).references.map((r) => r.path);
    const services = paths.filter((path) => path.startsWith("services/"));
    assert.equal(services.at(-1), "services/inventory");
    assert.equal(paths.indexOf("services/inventory"), paths.indexOf(services.at(-2)!) + 1);
    assert.equal(withTsconfigReference(changed, "services/inventory"), changed);
  });

  it("adds the chart values entry the declaration implies, leaving the rest of values.yaml as it was", () => {
    const values = read("charts/lattice/values.yaml");
    const changed = withChartValuesEntry(
      values,
      "inventory",
      chartValuesEntry({ calls: [], database: undefined, events: undefined }),
    );
    assert.deepEqual(added(values, changed), ["  inventory:", "    enabled: true"]);
    const entry = chartValuesEntry({
      calls: ["user"],
      database: { schema: "stock" },
      events: { consumes: [] },
    });
    assert.deepEqual(entry, {
      enabled: true,
      calls: ["user"],
      database: { enabled: true, schema: "stock" },
      nats: true,
    });
    assert.throws(() => withChartValuesEntry(changed, "inventory", entry), /already have services\.inventory/);
  });

  it("adds the skaffold artifact and image templates everywhere they are listed, digests where pinned", () => {
    const skaffold = read("skaffold.yaml");
    const changed = withSkaffoldService(skaffold, "shipping-quote");
    const lines = added(skaffold, changed);
    assert.ok(lines.includes("    - image: localhost/lattice/shipping-quote"), lines.join("\n"));
    assert.ok(lines.includes("          SERVICE: shipping-quote"), lines.join("\n"));
    const document = parseDocument(changed).toJS() as {
      deploy: { helm: { releases: { setValueTemplates: Record<string, string> }[] } };
      profiles: { deploy?: { helm?: { releases?: { setValueTemplates?: Record<string, string> }[] } } }[];
    };
    const maps = [
      document.deploy.helm.releases[0]!.setValueTemplates,
      ...document.profiles.flatMap((p) => p.deploy?.helm?.releases?.map((r) => r.setValueTemplates) ?? []),
    ].filter((map) => map !== undefined);
    assert.ok(maps.length >= 2);
    for (const map of maps) {
      const pinned = Object.keys(map).some((key) => key.endsWith(".image.digest"));
      for (const [key, template] of Object.entries(imageValueTemplates("shipping-quote", pinned)))
        assert.equal(map[key], template);
    }
    assert.equal(
      imageValueTemplates("shipping-quote", false)["services.shipping-quote.image.repository"],
      "{{.IMAGE_REPO_localhost_lattice_shipping_quote}}",
    );
    assert.equal(imageValueTemplates("shipping-quote", false)["services.shipping-quote.image.registry"], "");
  });
});
