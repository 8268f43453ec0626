import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { chartDir } from "./helm.js";

/** The dashboard and the rules the chart ships, as files in the chart. */
export const dashboardFile = join(chartDir, "dashboards", "lattice-platform.json");
export const rulesFile = join(chartDir, "alerts", "lattice-rules.yaml");

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly { readonly expr: string; readonly refId: string }[];
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly DashboardPanel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string }[] };
}

export const readDashboard = (): Dashboard => JSON.parse(readFileSync(dashboardFile, "utf8")) as Dashboard;

export interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export const readRules = (): { groups: { name: string; rules: Rule[] }[] } =>
  parse(readFileSync(rulesFile, "utf8")) as { groups: { name: string; rules: Rule[] }[] };
