import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { stringify } from "yaml";
import { helmLint, helmTemplate, helmTemplateRaw } from "../src/helm.js";
import { kubeconform, problems } from "../src/kubeconform.js";
import { named, ofKind, type Manifest } from "../src/manifests.js";
import { dashboardFile, readDashboard, readRules, rulesFile, type Rule } from "../src/observability.js";
import { repositoryRoot } from "../src/repository.js";
import { run } from "../src/run.js";
import { tool } from "../src/tools.js";

const RUNBOOKS = "https://docs.example.com/lattice/runbooks.md";
const enabled = [
  'observability.dashboards={"enabled":true,"labels":{"grafana_dashboard":"1"},"annotations":{"grafana_folder":"Lattice"}}',
  `observability.alerts={"enabled":true,"labels":{"release":"kube-prometheus-stack"},"runbookBaseUrl":"${RUNBOOKS}"}`,
  'serviceMonitor={"enabled":true}',
];
const work = mkdtempSync(join(tmpdir(), "lattice-observability-"));
after(() => rmSync(work, { recursive: true, force: true }));

const alerts = (): Rule[] => readRules().groups.flatMap((group) => group.rules.filter((rule) => rule.alert));

describe("the chart's dashboard and alerts", () => {
  test("are off by default", async () => {
    const { manifests } = await helmTemplate();
    assert.equal(ofKind(manifests, "PrometheusRule").length, 0);
    assert.equal(named(manifests, "ConfigMap", "lattice-dashboards"), undefined);
  });

  test("render when enabled, lint --strict, and pass kubeconform against the offline schemas", async () => {
    const lint = await helmLint({ setJson: enabled });
    assert.equal(lint.code, 0, `${lint.stdout}\n${lint.stderr}`);
    const { text, manifests } = await helmTemplate({ setJson: enabled });
    const validation = await kubeconform({ stdin: text });
    assert.deepEqual(problems(validation), [], validation.stderr);
    assert.equal(validation.resources.length, manifests.length);
    assert.ok(validation.resources.some((r) => r.kind === "PrometheusRule" && r.status === "statusValid"));
  });

  test("ship the dashboard in a ConfigMap Grafana's sidecar loads by its label", async () => {
    const { manifests } = await helmTemplate({ setJson: enabled });
    const configMap = named(manifests, "ConfigMap", "lattice-dashboards") as
      (Manifest & { data: Record<string, string>; metadata: { annotations?: Record<string, string> } }) | undefined;
    assert.ok(configMap, "the dashboards ConfigMap");
    assert.equal(configMap.metadata.labels?.["grafana_dashboard"], "1");
    assert.equal(configMap.metadata.annotations?.["grafana_folder"], "Lattice");
    assert.deepEqual(
      JSON.parse(configMap.data["lattice-platform.json"]!),
      JSON.parse(readFileSync(dashboardFile, "utf8")),
    );
  });

  test("ship every rule as a PrometheusRule whose runbook links point at the published runbooks", async () => {
    const { manifests } = await helmTemplate({ setJson: enabled });
    const [rule] = ofKind(manifests, "PrometheusRule") as (Manifest & { spec: { groups: { rules: Rule[] }[] } })[];
    assert.ok(rule);
    assert.equal(rule.metadata.labels?.["release"], "kube-prometheus-stack");
    const rendered = rule.spec.groups.flatMap((group) => group.rules);
    assert.equal(rendered.length, readRules().groups.flatMap((group) => group.rules).length);
    for (const alert of rendered.filter((r) => r.alert))
      assert.match(alert.annotations?.["runbook_url"] ?? "", new RegExp(`^${RUNBOOKS.replace(/\./g, "\\.")}#[a-z]+$`));
  });

  test("refuse to render alerts without a runbook URL, and unknown keys", async () => {
    const missing = await helmTemplateRaw({ setJson: ['observability.alerts={"enabled":true}'] });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /observability\.alerts\.runbookBaseUrl/);
    const unknown = await helmTemplateRaw({ setJson: ['observability.dashboards={"enabled":true,"folder":"x"}'] });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /folder/);
    const badUrl = await helmTemplateRaw({
      setJson: ['observability.alerts={"enabled":true,"runbookBaseUrl":"docs"}'],
    });
    assert.notEqual(badUrl.code, 0);
  });
});

describe("tracing settings in the chart", () => {
  const tracing =
    'observability.tracing={"otlpEndpoint":"http://otel-collector.observability:4318","sampler":"parentbased_traceidratio","samplerRatio":0.25,"collectorPeers":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"observability"}}}]}';
  const otelOf = (manifests: readonly Manifest[], service: string) =>
    Object.fromEntries(
      Object.entries(
        (named(manifests, "ConfigMap", `${service}-config`) as Manifest & { data: Record<string, string> }).data,
      ).filter(([key]) => key.startsWith("OTEL_")),
    );

  test("are off by default: no OTEL_ setting, no egress to a collector", async () => {
    const { manifests } = await helmTemplate();
    assert.deepEqual(otelOf(manifests, "order"), {});
    assert.doesNotMatch(JSON.stringify(ofKind(manifests, "NetworkPolicy")), /4318/);
  });

  test("give every service the OTLP endpoint, sampler and resource, and let it reach the collector", async () => {
    const { text, manifests } = await helmTemplate({ setJson: [tracing] });
    for (const service of ["greeter", "user", "payment", "order"])
      assert.deepEqual(otelOf(manifests, service), {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector.observability:4318",
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.25",
        OTEL_RESOURCE_ATTRIBUTES: "k8s.namespace.name=lattice,service.namespace=lattice",
      });
    const policy = named(manifests, "NetworkPolicy", "order") as Manifest & {
      spec: { egress: { ports?: { port: number }[]; to?: unknown[] }[] };
    };
    const toCollector = policy.spec.egress.find((rule) => rule.ports?.some((port) => port.port === 4318));
    assert.ok(toCollector, "egress to the collector's port");
    assert.deepEqual(toCollector.to, [
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } } },
    ]);
    const validation = await kubeconform({ stdin: text });
    assert.deepEqual(problems(validation), [], validation.stderr);
    const bad = await helmTemplateRaw({
      setJson: ['observability.tracing={"otlpEndpoint":"collector:4318","sampler":"sometimes","samplerRatio":2}'],
    });
    assert.notEqual(bad.code, 0);
  });
});

describe("the dashboard", () => {
  const dashboard = readDashboard();
  test("is a Grafana dashboard: a uid, unique panel ids, panels on the 24-column grid, queries on the chosen data source", () => {
    assert.equal(dashboard.uid, "lattice-platform");
    assert.ok(dashboard.schemaVersion >= 36);
    const ids = dashboard.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
    const variables = new Set(dashboard.templating.list.map((variable) => variable.name));
    for (const name of ["datasource", "namespace", "job", "method"]) assert.ok(variables.has(name), `$${name}`);
    for (const panel of dashboard.panels) {
      assert.ok(panel.gridPos.x >= 0 && panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title}: within the grid`);
      if (panel.type === "row") continue;
      assert.deepEqual(panel.datasource, { type: "prometheus", uid: "${datasource}" }, panel.title);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has a query`);
      for (const target of panel.targets ?? []) {
        for (const used of target.expr.matchAll(/\$([a-z_]+)/g))
          assert.ok(used[1]!.startsWith("__") || variables.has(used[1]!), `${panel.title}: $${used[1]} is defined`);
      }
    }
  });

  test("covers the golden signals: rate, errors, latency, client side, breakers, outbox lag, dead letters, pool saturation, dependencies, the gateway's HTTP traffic", () => {
    const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)).join("\n");
    for (const metric of [
      "grpc_server_handled_total",
      "grpc_server_handling_seconds_bucket",
      "grpc_client_handled_total",
      "grpc_client_handling_seconds_bucket",
      "grpc_client_retries_total",
      "grpc_client_circuit_breaker_state",
      "lattice_rate_limit_rejected_total",
      "lattice_outbox_lag_seconds",
      "lattice_db_pool_connections",
      "lattice_db_pool_waiting_requests",
      "lattice_events_redelivered_total",
      "lattice_events_dead_lettered_total",
      "lattice_dependency_up",
      "http_server_request_duration_seconds_bucket",
    ])
      assert.match(queries, new RegExp(`\\b${metric}\\b`), metric);
  });
});

describe("the alerting rules (promtool)", () => {
  test("promtool check rules passes on the chart's rule file and on the PrometheusRule it renders", async () => {
    const source = await run(tool("PROMTOOL"), ["check", "rules", rulesFile]);
    assert.equal(source.code, 0, `${source.stdout}\n${source.stderr}`);
    assert.match(source.stdout, /SUCCESS: \d+ rules found/);
    const { manifests } = await helmTemplate({ setJson: enabled });
    const [rule] = ofKind(manifests, "PrometheusRule") as (Manifest & { spec: { groups: unknown[] } })[];
    const renderedFile = join(work, "rendered-rules.yaml");
    writeFileSync(renderedFile, stringify({ groups: rule!.spec.groups }));
    const rendered = await run(tool("PROMTOOL"), ["check", "rules", renderedFile]);
    assert.equal(rendered.code, 0, `${rendered.stdout}\n${rendered.stderr}`);
  });

  test("promtool test rules: every alert fires on the series that should fire it, and only on those", async () => {
    const testFile = join(repositoryRoot, "tests", "deploy", "alerts", "lattice-rules.test.yaml");
    const result = await run(tool("PROMTOOL"), ["test", "rules", testFile]);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /SUCCESS/);
    const tested = readFileSync(testFile, "utf8");
    for (const alert of alerts())
      assert.match(tested, new RegExp(`alertname: ${alert.alert}\\b`), `${alert.alert} is tested`);
  });

  test("every alert has a severity, a summary and a runbook section in docs/runbooks.md", () => {
    const runbooks = readFileSync(join(repositoryRoot, "docs", "runbooks.md"), "utf8");
    const sections = new Set([...runbooks.matchAll(/^## (\w+)$/gm)].map((match) => match[1]!.toLowerCase()));
    for (const alert of alerts()) {
      assert.match(alert.labels?.["severity"] ?? "", /^(critical|warning)$/, alert.alert);
      assert.ok(alert.annotations?.["summary"], `${alert.alert}: summary`);
      const link = /^RUNBOOK_BASE_URL#([a-z]+)$/.exec(alert.annotations["runbook_url"] ?? "");
      assert.ok(link, `${alert.alert}: runbook_url`);
      const anchor = link[1];
      assert.equal(anchor, alert.alert!.toLowerCase());
      assert.ok(sections.has(anchor), `docs/runbooks.md has a "## ${alert.alert}" section`);
    }
  });
});
