import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parseDocument } from "yaml";
import {
  chartValuesEntry,
  imageValueTemplates,
  withChartCall,
  withChartValuesEntry,
  withDeclaredCall,
  withSkaffoldService,
  withTsconfigReference,
} from "../src/new-service/registration.js";
import { repositoryRoot } from "../src/repository.js";

const read = (path: string) => readFileSync(`${repositoryRoot}${path}`, "utf8");

/**
 * `base`, or `base-2`, `base-3`, … : a service name this checkout does not have yet (a developer may well have
 * scaffolded an "inventory" of their own), so the registrations are tried on the real files as they are.
 */
function unusedName(base: string): string {
  const known = `${read("charts/lattice/values.yaml")}\n${read("skaffold.yaml")}\n${read("tsconfig.json")}`;
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!known.includes(`services/${name}"`) && !new RegExp(`^  ${name}:|lattice/${name}\\b`, "m").test(known))
      return name;
  }
}

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
  const inventory = unusedName("inventory");
  const shippingQuote = unusedName("shipping-quote");

  it("adds a tsconfig reference after the other services, and nothing twice", () => {
    const tsconfig = read("tsconfig.json");
    const changed = withTsconfigReference(tsconfig, `services/${inventory}`);
    const paths = (JSON.parse(changed) as { references: { path: string }[] }).references.map((r) => r.path);
    const services = paths.filter((path) => path.startsWith("services/"));
    assert.equal(services.at(-1), `services/${inventory}`);
    assert.equal(paths.indexOf(`services/${inventory}`), paths.indexOf(services.at(-2)!) + 1);
    assert.equal(withTsconfigReference(changed, `services/${inventory}`), changed);
  });

  it("adds the chart values entry the declaration implies, leaving the rest of values.yaml as it was", () => {
    const values = read("charts/lattice/values.yaml");
    const changed = withChartValuesEntry(
      values,
      inventory,
      chartValuesEntry({ calls: [], database: undefined, events: undefined }),
    );
    assert.deepEqual(added(values, changed), [`  ${inventory}:`, "    enabled: true"]);
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
    assert.throws(
      () => withChartValuesEntry(changed, inventory, entry),
      new RegExp(`already have services\\.${inventory}`),
    );
  });

  it("adds the skaffold artifact and image templates everywhere they are listed, digests where pinned", () => {
    const skaffold = read("skaffold.yaml");
    const changed = withSkaffoldService(skaffold, shippingQuote);
    const lines = added(skaffold, changed);
    assert.ok(lines.includes(`    - image: localhost/lattice/${shippingQuote}`), lines.join("\n"));
    assert.ok(lines.includes(`          SERVICE: ${shippingQuote}`), lines.join("\n"));
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
      for (const [key, template] of Object.entries(imageValueTemplates(shippingQuote, pinned)))
        assert.equal(map[key], template);
    }
    assert.equal(
      imageValueTemplates(shippingQuote, false)[`services.${shippingQuote}.image.repository`],
      `{{.IMAGE_REPO_localhost_lattice_${shippingQuote.replaceAll("-", "_")}}}`,
    );
    assert.equal(imageValueTemplates(shippingQuote, false)[`services.${shippingQuote}.image.registry`], "");
  });

  it("adds the new service to an HTTP edge's calls, in its declaration and in the chart, once", () => {
    const gateway = read("services/gateway/package.json");
    const declared = withDeclaredCall(gateway, inventory);
    const calls = (JSON.parse(declared) as { lattice: { calls: string[] } }).lattice.calls;
    const before = (JSON.parse(gateway) as { lattice: { calls: string[] } }).lattice.calls;
    assert.deepEqual(calls, [...before, inventory]);
    assert.equal(withDeclaredCall(declared, inventory), declared);

    const values = read("charts/lattice/values.yaml");
    const changed = withChartCall(values, "gateway", inventory);
    // One line changed, the gateway's flow list, and it keeps its style.
    const [valueLines, changedLines] = [values.split("\n"), changed.split("\n")];
    assert.equal(changedLines.length, valueLines.length);
    const differing = changedLines.filter((line, i) => line !== valueLines[i]);
    assert.equal(differing.length, 1, differing.join("\n"));
    assert.match(differing[0]!, new RegExp(`^    calls: \\[.*, ${inventory}\\]$`));
    const chartCalls = (parseDocument(changed).toJS() as { services: { gateway: { calls: string[] } } }).services
      .gateway.calls;
    assert.equal(chartCalls.at(-1), inventory);
    assert.equal(withChartCall(changed, "gateway", inventory), changed);
    assert.throws(() => withChartCall(values, "no-such-service", inventory), /no services\.no-such-service/);
  });
});
