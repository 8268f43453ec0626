/** One series of a scraped metric: its labels and value (a histogram's count, with its sum and cumulative buckets). */
export interface ScrapedSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Histograms: cumulative counts by upper bound ("0.005" … "+Inf"). */
  readonly buckets?: Readonly<Record<string, number>>;
  readonly sum?: number;
}

/** One metric family of a scrape. */
export interface ScrapedFamily {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  readonly series: readonly ScrapedSeries[];
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/**
 * A parsed Prometheus text exposition (format 0.0.4, what /metrics serves), by metric family: HELP and TYPE lines,
 * label values with their escapes, NaN and ±Inf, optional timestamps; a histogram's _bucket, _sum and _count samples
 * are gathered into one series per label set. Malformed lines throw, naming the line.
 */
export class Scrape {
  readonly families: ReadonlyMap<string, ScrapedFamily>;

  constructor(text: string) {
    const help = new Map<string, string>();
    const types = new Map<string, ScrapedFamily["type"]>();
    const samples: Sample[] = [];
    text.split("\n").forEach((raw, index) => {
      const line = raw.trim();
      if (line === "") return;
      const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (meta) {
        if (meta[1] === "HELP") help.set(meta[2]!, unescapeHelp(meta[3] ?? ""));
        else types.set(meta[2]!, parseType(meta[3] ?? "", index));
        return;
      }
      if (line.startsWith("#")) return;
      samples.push(parseSample(line, index));
    });
    const families = new Map<
      string,
      { help: string; type: ScrapedFamily["type"]; series: Map<string, ScrapedSeries> }
    >();
    for (const sample of samples) {
      const { family, part } = familyOf(sample.name, types);
      const type = types.get(family) ?? "untyped";
      let entry = families.get(family);
      if (!entry) {
        entry = { help: help.get(family) ?? "", type, series: new Map() };
        families.set(family, entry);
      }
      const { le, ...labels } = sample.labels;
      const key = JSON.stringify(Object.entries(type === "histogram" ? labels : sample.labels).sort());
      const current = entry.series.get(key);
      if (type !== "histogram") {
        entry.series.set(key, { labels: sample.labels, value: sample.value });
        continue;
      }
      const series = current ?? { labels, value: 0, buckets: {}, sum: 0 };
      if (part === "bucket" && le !== undefined) (series.buckets as Record<string, number>)[le] = sample.value;
      entry.series.set(key, {
        ...series,
        ...(part === "count" ? { value: sample.value } : {}),
        ...(part === "sum" ? { sum: sample.value } : {}),
      });
    }
    // A metric declared but without a sample yet (a labelled counter never incremented) is exported all the same.
    for (const [name, type] of types)
      if (!families.has(name)) families.set(name, { help: help.get(name) ?? "", type, series: new Map() });
    this.families = new Map(
      [...families].map(([name, entry]) => [
        name,
        { name, help: entry.help, type: entry.type, series: [...entry.series.values()] },
      ]),
    );
  }

  /** The series of `name` whose labels include `labels`; throws when the metric is not exported at all. */
  series(name: string, labels: Readonly<Record<string, string>> = {}): ScrapedSeries[] {
    const family = this.families.get(name);
    if (!family) throw new Error(`${name} is not exported`);
    return family.series.filter((series) =>
      Object.entries(labels).every(([key, value]) => series.labels[key] === value),
    );
  }

  /** The sum of the values of `name`'s series with `labels` (a histogram's: its counts); 0 when none matches. */
  value(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.series(name, labels).reduce((total, series) => total + series.value, 0);
  }
}

/** GETs a /metrics URL and parses it. */
export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Scrape(await response.text());
}

function parseType(value: string, index: number): ScrapedFamily["type"] {
  const type = value.trim();
  if (type === "counter" || type === "gauge" || type === "histogram" || type === "summary" || type === "untyped")
    return type;
  throw new Error(`line ${index + 1}: unknown metric type ${JSON.stringify(type)}`);
}

/** The family a sample belongs to: a histogram's or summary's _bucket/_sum/_count samples are its own. */
function familyOf(
  name: string,
  types: ReadonlyMap<string, ScrapedFamily["type"]>,
): { family: string; part: "bucket" | "sum" | "count" | "value" } {
  for (const part of ["bucket", "sum", "count"] as const) {
    const suffix = `_${part}`;
    if (!name.endsWith(suffix)) continue;
    const family = name.slice(0, -suffix.length);
    const type = types.get(family);
    if (type === "histogram" || (type === "summary" && part !== "bucket")) return { family, part };
  }
  return { family: name, part: "value" };
}

function parseSample(line: string, index: number): Sample {
  const fail = (why: string): never => {
    throw new Error(`line ${index + 1}: ${why}: ${line}`);
  };
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line) ?? fail("no metric name");
  const name = nameMatch[0];
  let position = name.length;
  const labels: Record<string, string> = {};
  if (line[position] === "{") {
    position++;
    for (;;) {
      while (line[position] === " " || line[position] === ",") position++;
      if (line[position] === "}") {
        position++;
        break;
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(position)) ?? fail("bad label");
      position += labelMatch[0].length;
      let value = "";
      for (;;) {
        const char = line[position++] ?? fail("unterminated label value");
        if (char === '"') break;
        if (char !== "\\") {
          value += char;
          continue;
        }
        const escaped = line[position++] ?? fail("unterminated escape");
        value += escaped === "n" ? "\n" : escaped;
      }
      labels[labelMatch[1]!] = value;
    }
  }
  const [valueText] = line.slice(position).trim().split(/\s+/);
  const value = parseValue(valueText ?? fail("no value")) ?? fail("bad value");
  return { name, labels, value };
}

/**
 * A sample's value as Prometheus reads it: Go's strconv.ParseFloat, so the special values are case-insensitive
 * ("NaN", "Nan" as prom-client writes it, "+Inf", "-inf", "Infinity"). undefined when it is not a number.
 */
function parseValue(text: string): number | undefined {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2]!.toLowerCase() === "nan") return special[1] === "" ? NaN : undefined;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  const value = Number(text);
  return text === "" || Number.isNaN(value) ? undefined : value;
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, escaped: string) => (escaped === "n" ? "\n" : "\\"));
}
