/** The chart of a run (chart.svg): Greet throughput and CPU per server, the chain's layers, the list, memory. */
import { barChart, type Panel } from "./chart.js";
import type { ServerGroup } from "./greet-suite.js";
import type { BenchResults } from "./results.js";

const COLORS: Readonly<Record<ServerGroup | "go" | "json", string>> = {
  go: "#5b5b5b",
  peer: "#9a9a9a",
  lattice: "#2f6db5",
  ladder: "#8fb3e0",
  json: "#d9822b",
};
const MiB = 1024 * 1024;

/** The chart as SVG text. */
export function resultsChart(results: BenchResults): string {
  const panels: Panel[] = [];
  const { greet, chain, list, memory } = results;
  if (greet) {
    const color = (id: string, group: ServerGroup) => (id === "grpc-go" ? COLORS.go : COLORS[group]);
    panels.push(
      {
        title: `Greet: req/s (median of ${greet.rounds} rounds; ratio to the fastest bare grpc-js server)`,
        bars: greet.servers.map((s) => ({
          label: s.label,
          value: s.median.rps,
          note: `${Math.round(s.median.rps).toLocaleString("en-US")} req/s  ${s.ratio.toFixed(2)}x`,
          color: color(s.id, s.group),
        })),
      },
      {
        title: "Greet: server CPU per request (µs, lower is better)",
        bars: greet.servers.map((s) => ({
          label: s.label,
          value: s.median.cpuUs,
          note: `${s.median.cpuUs.toFixed(1)} µs  p50 ${s.median.p50Ms.toFixed(1)} ms  p99 ${s.median.p99Ms.toFixed(1)} ms`,
          color: color(s.id, s.group),
        })),
      },
      {
        title: "The kit's chain: server CPU each layer adds per request (µs)",
        bars: greet.layers.map((l) => ({
          label: l.layer,
          value: l.cpuUs,
          note: `${l.cpuUs >= 0 ? "+" : ""}${l.cpuUs.toFixed(1)} µs  throughput x${l.ratio.toFixed(3)}`,
          color: COLORS.ladder,
        })),
      },
    );
  }
  if (chain)
    panels.push({
      title: `The kit's chain in process: CPU each layer adds per call (ns; whole chain ${Math.round(chain.fullNs)} ns)`,
      bars: chain.layers.map((l) => ({
        label: l.layer,
        value: l.ns,
        note: `${l.ns >= 0 ? "+" : ""}${Math.round(l.ns)} ns`,
        color: COLORS.ladder,
      })),
    });
  if (list)
    panels.push({
      title: `A 100-user list: req/s (gRPC / JSON ${list.rpsRatio.toFixed(2)}x; per CPU-second ${list.cpuRatio.toFixed(2)}x)`,
      bars: list.targets.map((t) => ({
        label: t.label,
        value: t.median.rps,
        note: `${Math.round(t.median.rps).toLocaleString("en-US")} req/s  ${t.median.cpuUs.toFixed(0)} µs CPU/req`,
        color: t.id === "json" ? COLORS.json : COLORS.lattice,
      })),
    });
  if (memory) {
    const s = memory.streams;
    panels.push({
      title: "Memory: RSS (MiB)",
      bars: [
        ...memory.services.map((m) => ({
          label: `${m.service}, idle`,
          value: m.rssBytes / MiB,
          note: `${(m.rssBytes / MiB).toFixed(1)} MiB`,
          color: COLORS.lattice,
        })),
        ...(
          [
            ["greeter before the streams", s.idleBytes],
            [`greeter, ${s.streams} streams open`, s.openBytes],
            ["greeter after they ended", s.afterBytes],
          ] as const
        ).map(([label, bytes]) => ({
          label,
          value: bytes / MiB,
          note: `${(bytes / MiB).toFixed(1)} MiB`,
          color: COLORS.ladder,
        })),
      ],
    });
  }
  const subtitle =
    `${results.startedAt} · Node ${results.machine.node} · ${results.machine.cpus} × ${results.machine.cpu} · ` +
    "servers on CPU 0, h2load on CPU 1";
  return barChart("Lattice benchmark", subtitle, panels);
}
