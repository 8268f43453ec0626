import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { helmTemplate, helmTemplateRaw } from "../src/helm.js";

/**
 * Settings reach pods through the chart's `env` values exactly as written. Helm reads numbers in values files (and
 * --set-json) as 64-bit floats; the chart must not round or reformat them on the way to the ConfigMap.
 */
describe("numbers in chart values reach the ConfigMap as written", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "lattice-numbers-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configOf(env: string): Promise<Record<string, string>> {
    const file = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, `services:\n  payment:\n    env:\n${env}`);
    const { manifests } = await helmTemplate({ valuesFiles: [file] });
    const configMap = manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === "payment-config");
    assert.ok(configMap, "payment's ConfigMap is rendered");
    return (configMap as unknown as { data: Record<string, string> }).data;
  }

  test("decimals, negatives, zero, large and small numbers, booleans and strings", async () => {
    const data = await configOf(
      [
        "      PROCESSOR_DECLINE_RATE: 0.25",
        "      CLIENT_BREAKER_ERROR_THRESHOLD_PERCENT: 37.5",
        "      OFFSET_SECONDS: -3",
        "      SKEW: -0.125",
        "      ZERO: 0",
        "      CLIENT_STREAM_TIMEOUT_MS: 86400000",
        "      MILLION: 1000000",
        "      LARGEST_EXACT: 9007199254740991",
        "      TINY: 0.0000001",
        "      FEATURE: true",
        '      QUOTED_LONG: "123456789012345678901"',
        '      VERSION: "1.10"',
      ].join("\n") + "\n",
    );
    assert.deepEqual(
      {
        PROCESSOR_DECLINE_RATE: data["PROCESSOR_DECLINE_RATE"],
        CLIENT_BREAKER_ERROR_THRESHOLD_PERCENT: data["CLIENT_BREAKER_ERROR_THRESHOLD_PERCENT"],
        OFFSET_SECONDS: data["OFFSET_SECONDS"],
        SKEW: data["SKEW"],
        ZERO: data["ZERO"],
        CLIENT_STREAM_TIMEOUT_MS: data["CLIENT_STREAM_TIMEOUT_MS"],
        MILLION: data["MILLION"],
        LARGEST_EXACT: data["LARGEST_EXACT"],
        FEATURE: data["FEATURE"],
        QUOTED_LONG: data["QUOTED_LONG"],
        VERSION: data["VERSION"],
      },
      {
        PROCESSOR_DECLINE_RATE: "0.25",
        CLIENT_BREAKER_ERROR_THRESHOLD_PERCENT: "37.5",
        OFFSET_SECONDS: "-3",
        SKEW: "-0.125",
        ZERO: "0",
        CLIENT_STREAM_TIMEOUT_MS: "86400000",
        MILLION: "1000000",
        LARGEST_EXACT: "9007199254740991",
        FEATURE: "true",
        QUOTED_LONG: "123456789012345678901",
        VERSION: "1.10",
      },
    );
    // The same number in another notation: what a service parses is exactly the value written.
    assert.equal(Number(data["TINY"]), 0.0000001);
  });

  test("a number too long to survive Helm's float64 is refused, naming the key, instead of arriving changed", async () => {
    for (const [how, args] of [
      ["a values file", { file: "      ACCOUNT_ID: 9007199254740993\n" }],
      ["--set-json", { setJson: ["services.payment.env.ACCOUNT_ID=123456789012345678901"] }],
    ] as const) {
      const valuesFiles: string[] = [];
      if ("file" in args) {
        const file = join(dir, "long.yaml");
        await writeFile(file, `services:\n  payment:\n    env:\n${args.file}`);
        valuesFiles.push(file);
      }
      const result = await helmTemplateRaw({ valuesFiles, setJson: "setJson" in args ? args.setJson : [] });
      assert.notEqual(result.code, 0, `${how}: refused`);
      assert.match(result.stderr, /\/services\/payment\/env\/ACCOUNT_ID/, `${how}: the key is named`);
      assert.match(result.stderr, /maximum/, `${how}: the limit is named`);
    }
  });
});
