import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chartDir, helmLint, helmTemplateRaw, valueSets, valuesFiles, type HelmOptions } from "../src/helm.js";
import { findProperties, isEnum, isNumeric, readValuesSchema } from "../src/values-schema.js";

const schema = readValuesSchema(chartDir);

/** Both helm lint --strict and helm template must refuse the values, and say which key is wrong. */
async function assertRejected(options: HelmOptions, key: string) {
  for (const [command, result] of [
    ["helm lint --strict", await helmLint(options)],
    ["helm template", await helmTemplateRaw(options)],
  ] as const) {
    assert.notEqual(result.code, 0, `${command} accepted ${JSON.stringify(options.setJson)}`);
    const output = `${result.stdout}\n${result.stderr}`;
    assert.ok(output.includes(key), `${command} failed without naming ${key}:\n${output}`);
  }
}

describe("values.schema.json", () => {
  for (const set of valueSets) {
    test(`accepts the ${set} value set`, async () => {
      const result = await helmTemplateRaw({ valuesFiles: valuesFiles(set) });
      assert.equal(result.code, 0, result.stderr);
    });
  }

  test("rejects a misspelled top-level key (servcies)", async () => {
    await assertRejected({ setJson: ['servcies={"greeter":{}}'] }, "servcies");
  });

  test("rejects a misspelled key inside a service entry", async () => {
    // The first numeric setting of a service entry (replicaCount in the contract), with two letters swapped.
    const [path] = findProperties(schema, ["services", "greeter"], isNumeric, 1);
    assert.ok(path, "values.schema.json declares no numeric setting in a service entry");
    const key = path.at(-1)!;
    const misspelled = key.length > 3 ? `${key.slice(0, 2)}${key[3]}${key[2]}${key.slice(4)}` : `${key}x`;
    await assertRejected({ setJson: [`services.greeter.${misspelled}=2`] }, misspelled);
  });

  test("rejects a string where a number belongs", async () => {
    const [path] = findProperties(schema, ["services", "greeter"], isNumeric, 1);
    assert.ok(path, "values.schema.json declares no numeric setting in a service entry");
    await assertRejected({ setJson: [`${path.join(".")}="three"`] }, path.at(-1)!);
  });

  test("rejects a value outside an enum", async () => {
    const [path] = findProperties(schema, [], isEnum);
    assert.ok(path, "values.schema.json declares no enum");
    await assertRejected({ setJson: [`${path.join(".")}="no-such-choice"`] }, path.at(-1)!);
  });

  test("rejects an unknown service", async () => {
    await assertRejected({ setJson: ['services.gretter={"replicaCount":1}'] }, "gretter");
  });
});
