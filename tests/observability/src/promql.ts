import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPOSITORY_ROOT } from "./service-processes.js";

/** Every PromQL expression the chart ships: the dashboard's queries and the rules' expressions, with where each is. */
export function shippedQueries(): { where: string; expr: string }[] {
  const chart = join(REPOSITORY_ROOT, "charts", "lattice");
  const dashboard = JSON.parse(readFileSync(join(chart, "dashboards", "lattice-platform.json"), "utf8")) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating: { list: { name: string; query?: { query?: string } | string }[] };
  };
  const rules = parse(readFileSync(join(chart, "alerts", "lattice-rules.yaml"), "utf8")) as {
    groups: { rules: { record?: string; alert?: string; expr: string }[] }[];
  };
  return [
    ...dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ where: `dashboard panel "${panel.title}"`, expr: target.expr })),
    ),
    ...dashboard.templating.list.flatMap((variable) => {
      const query = typeof variable.query === "string" ? variable.query : variable.query?.query;
      return query?.startsWith("label_values") ? [{ where: `dashboard variable $${variable.name}`, expr: query }] : [];
    }),
    ...rules.groups.flatMap((group) =>
      group.rules.map((rule) => ({ where: `rule ${rule.record ?? rule.alert ?? "?"}`, expr: rule.expr })),
    ),
  ];
}

/** The names of the recording rules the chart ships (level:metric:operations). */
export function recordedNames(): Set<string> {
  const rules = parse(
    readFileSync(join(REPOSITORY_ROOT, "charts", "lattice", "alerts", "lattice-rules.yaml"), "utf8"),
  ) as { groups: { rules: { record?: string }[] }[] };
  return new Set(rules.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : []))));
}

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);

/**
 * The metric names an expression selects. Label matchers ({…}), grouping clauses (by/on/… (…)), range selectors,
 * strings and function calls are taken out first, so label names and functions are never mistaken for metrics.
 */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ");
  const names = new Set<string>();
  for (const match of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || KEYWORDS.has(name!.toLowerCase()) || name!.startsWith("$")) continue;
    names.add(name!);
  }
  // label_values(metric{…}, label): the metric only.
  const labelValues = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(expr.trim());
  if (labelValues) return [labelValues[1]!];
  return [...names];
}
