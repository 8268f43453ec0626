/**
 * A bar chart as standalone SVG 1.1 (no script, no external fonts): panels stacked top to bottom, one bar per row
 * with its label on the left and a note on the right. Bars grow from zero, leftwards for negative values. Written
 * by hand so the benchmark needs no charting library; any browser or image viewer shows it.
 */

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Text after the bar, e.g. "31,200 req/s  0.95x". */
  readonly note: string;
  /** A CSS color. */
  readonly color: string;
}

export interface Panel {
  readonly title: string;
  readonly bars: readonly Bar[];
}

const WIDTH = 1000;
const LABEL_WIDTH = 300;
const BAR_AREA = 440;
const ROW = 22;
const BAR = 15;
const PANEL_TITLE = 30;
const PANEL_GAP = 18;
const HEADER = 56;

function escape(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function panelSvg(panel: Panel, top: number): { svg: string; height: number } {
  const values = panel.bars.map((bar) => bar.value).filter(Number.isFinite);
  const low = Math.min(0, ...values);
  const high = Math.max(0, ...values);
  const span = high - low || 1;
  const x = (value: number) => LABEL_WIDTH + ((value - low) / span) * BAR_AREA;
  const parts = [`<text x="12" y="${top + 20}" class="title">${escape(panel.title)}</text>`];
  panel.bars.forEach((bar, i) => {
    const y = top + PANEL_TITLE + i * ROW;
    const value = Number.isFinite(bar.value) ? bar.value : 0;
    const [from, to] = value < 0 ? [x(value), x(0)] : [x(0), x(value)];
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + BAR - 3}" class="label">${escape(bar.label)}</text>`,
      `<rect x="${from.toFixed(1)}" y="${y}" width="${Math.max(1, to - from).toFixed(1)}" height="${BAR}" fill="${bar.color}"/>`,
      `<text x="${(LABEL_WIDTH + BAR_AREA + 10).toFixed(1)}" y="${y + BAR - 3}" class="note">${escape(bar.note)}</text>`,
    );
  });
  if (low < 0) {
    const zero = x(0).toFixed(1);
    const bottom = top + PANEL_TITLE + panel.bars.length * ROW;
    parts.push(`<line x1="${zero}" y1="${top + PANEL_TITLE - 4}" x2="${zero}" y2="${bottom}" stroke="#333"/>`);
  }
  return { svg: parts.join("\n"), height: PANEL_TITLE + panel.bars.length * ROW + PANEL_GAP };
}

/** The whole chart: a title, a subtitle (how it was measured) and the panels. */
export function barChart(title: string, subtitle: string, panels: readonly Panel[]): string {
  let top = HEADER;
  const bodies: string[] = [];
  for (const panel of panels) {
    const { svg, height } = panelSvg(panel, top);
    bodies.push(svg);
    top += height;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" viewBox="0 0 ${WIDTH} ${top}">`,
    "<style>text{font-family:sans-serif;font-size:12px;fill:#222}.title{font-size:14px;font-weight:bold}" +
      ".label{text-anchor:end}.head{font-size:17px;font-weight:bold}.sub{fill:#555}</style>",
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="24" class="head">${escape(title)}</text>`,
    `<text x="12" y="44" class="sub">${escape(subtitle)}</text>`,
    ...bodies,
    "</svg>",
    "",
  ].join("\n");
}
