/** The text report of a run (report.txt, also printed): fixed-width tables, one section per suite. */
import type { ChainResults } from "./chain-suite.js";
import type { GreetResults } from "./greet-suite.js";
import type { ListResults } from "./list-suite.js";
import type { MemoryResults } from "./memory-suite.js";
import { CHAIN_TARGET, type BenchResults } from "./results.js";

const MiB = 1024 * 1024;
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(1)}`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    "  " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

function greetSection(greet: GreetResults): string {
  const base = greet.servers.find((s) => s.id === greet.baseline)!;
  const rows = greet.servers.map((s) => [
    s.label,
    int(s.median.rps),
    fixed(s.ratio, 3),
    fixed(s.median.cpuUs),
    fixed(s.cpuRatio, 3),
    fixed(s.median.p50Ms),
    fixed(s.median.p99Ms),
    fixed(s.rssBytes / MiB, 0),
  ]);
  const full = greet.servers.find((s) => s.id === "lattice-full");
  const otherBare = greet.servers.filter((s) => (s.id === "grpc-js" || s.id === "lattice-bare") && s.id !== base.id);
  const layers = greet.layers.map((l) => [l.layer, signed(l.cpuUs), fixed(l.ratio, 3)]);
  const lines = [
    `Greet (unary; ${greet.connections} connections x ${greet.streams} streams, h2c): ${greet.rounds} rounds of ` +
      `${greet.seconds} s per server, interleaved; medians. Ratios are medians of per-round ratios to the fastest ` +
      `bare grpc-js server, ${base.label}. CPU: server user + system time per request. RSS after the last round.`,
    table(["server", "req/s", "ratio", "CPU us/req", "CPU ratio", "p50 ms", "p99 ms", "RSS MiB"], rows),
    ...greet.skipped.map((s) => `  not run: ${s}`),
    "",
    "The kit's chain, one layer at a time (each step adds one layer to the step above; the adapter step is",
    "measured against Lattice bare): median per-round difference in server CPU per request, and throughput ratio.",
    table(["layer", "CPU us/req", "req/s ratio"], layers),
  ];
  if (full)
    lines.push(
      "",
      `  Full production chain / ${base.label}: ${fixed(full.ratio, 3)} (target >= ${CHAIN_TARGET}); ` +
        `CPU ratio ${fixed(full.cpuRatio, 3)} (${fixed(full.median.cpuUs)} vs ${fixed(base.median.cpuUs)} us/req).` +
        otherBare
          .map((s) => ` ${s.label} / ${base.label}: ${fixed(s.ratio, 3)}, CPU ${fixed(s.cpuRatio, 3)}.`)
          .join(""),
    );
  return lines.join("\n");
}

function chainSection(chain: ChainResults): string {
  return [
    `The kit's chain in process (Greet through the adapter, no network): ${chain.rounds} rounds of ` +
      `${int(chain.callsPerRound)} calls per step; CPU per call, median of per-round differences.`,
    table(
      ["layer", "ns/call"],
      [
        ["adapter alone", int(chain.adapterNs)],
        ...chain.layers.map((l) => [`+ ${l.layer}`, `${l.ns >= 0 ? "+" : ""}${int(l.ns)}`]),
        ["whole chain", int(chain.fullNs)],
      ],
    ),
  ].join("\n");
}

function listSection(list: ListResults): string {
  const rows = list.targets.map((t) => [
    t.label,
    int(t.median.rps),
    fixed(t.median.cpuUs),
    fixed(t.median.p50Ms),
    fixed(t.median.p99Ms),
    int(t.responseBytes),
  ]);
  return [
    `A 100-user list (ListUsers): ${list.rounds} rounds of ${list.seconds} s per server, interleaved; medians.`,
    table(["server", "req/s", "CPU us/req", "p50 ms", "p99 ms", "bytes"], rows),
    `  gRPC / JSON: ${fixed(list.rpsRatio, 2)}x in req/s, ${fixed(list.cpuRatio, 2)}x in requests per CPU-second ` +
      "(target >= 1.0).",
  ].join("\n");
}

function memorySection(memory: MemoryResults): string {
  const s = memory.streams;
  const perStream = (s.openBytes - s.idleBytes) / s.streams / 1024;
  return [
    "Memory (VmRSS). Every service idle, as npm start runs it:",
    table(
      ["service", "RSS MiB"],
      memory.services.map((m) => [m.service, fixed(m.rssBytes / MiB)]),
    ),
    ...memory.notes.map((n) => `  note: ${n}`),
    `The greeter with the full chain holding ${int(s.streams)} open ListGreetings server streams:`,
    table(
      ["state", "RSS MiB"],
      [
        ["before", fixed(s.idleBytes / MiB)],
        [`${int(s.streams)} streams open`, fixed(s.openBytes / MiB)],
        ["after they ended", fixed(s.afterBytes / MiB)],
      ],
    ),
    `  about ${fixed(perStream)} KiB per open stream.`,
  ].join("\n");
}

/** The whole report. */
export function formatReport(results: BenchResults): string {
  const { machine } = results;
  const sections = [
    `Lattice benchmark, ${results.startedAt}: Node ${machine.node}, ${machine.cpus} x ${machine.cpu}, ${machine.h2load}.`,
    "Servers pinned to CPU 0, h2load to CPU 1. On a shared machine compare only the ratios of one run.",
  ];
  if (results.greet) sections.push(greetSection(results.greet));
  if (results.chain) sections.push(chainSection(results.chain));
  if (results.list) sections.push(listSection(results.list));
  if (results.memory) sections.push(memorySection(results.memory));
  return sections.join("\n\n") + "\n";
}
