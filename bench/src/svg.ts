/**
 * Hand-rolled SVG charts for the bench report: a line chart (one <path> per
 * series) and a bar chart. Output is standalone, well-formed XML.
 */

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Logarithmic y axis (latency spans orders of magnitude). */
  logY?: boolean;
  width?: number;
  height?: number;
}

export interface Bar {
  name: string;
  value: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return '0';
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 10 || a === 0) return String(Math.round(v));
  return String(+v.toFixed(2));
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function header(w: number, h: number, title: string): string[] {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
}

export function lineChart(o: LineChartOptions): string {
  const w = o.width ?? 720;
  const h = o.height ?? 420;
  const m = { l: 70, r: 170, t: 40, b: 50 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const pts = o.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const xMax = niceMax(Math.max(1, ...pts.map(([x]) => x)));
  const yPositive = pts.map(([, y]) => y).filter((y) => y > 0);
  const logY = o.logY === true && yPositive.length > 0;
  const yMinLog = logY ? 10 ** Math.floor(Math.log10(Math.min(...yPositive))) : 0;
  const yMaxLog = logY ? 10 ** Math.ceil(Math.log10(Math.max(...yPositive) * 1.0001)) : 0;
  const yMax = logY ? yMaxLog : niceMax(Math.max(1, ...pts.map(([, y]) => y)));
  const sx = (x: number) => m.l + (x / xMax) * pw;
  const sy = logY
    ? (y: number) =>
        m.t + ph - ((Math.log10(Math.max(y, yMinLog)) - Math.log10(yMinLog)) / Math.log10(yMaxLog / yMinLog)) * ph
    : (y: number) => m.t + ph - (y / yMax) * ph;
  const out = header(w, h, o.title);
  out.push(`<g stroke="#999" stroke-width="1">`);
  out.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}"/>`);
  out.push('</g>');
  out.push('<g fill="#333">');
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5;
    out.push(`<text x="${fmt(sx(x))}" y="${m.t + ph + 18}" text-anchor="middle">${escapeXml(formatTick(x))}</text>`);
  }
  const yTicks: number[] = [];
  if (logY) for (let v = yMinLog; v <= yMaxLog * 1.0001; v *= 10) yTicks.push(v);
  else for (let i = 0; i <= 5; i++) yTicks.push((yMax * i) / 5);
  for (const y of yTicks) {
    out.push(`<text x="${m.l - 8}" y="${fmt(sy(y) + 4)}" text-anchor="end">${escapeXml(formatTick(y))}</text>`);
    out.push(`<line x1="${m.l}" y1="${fmt(sy(y))}" x2="${m.l + pw}" y2="${fmt(sy(y))}" stroke="#eee"/>`);
  }
  out.push(`<text x="${m.l + pw / 2}" y="${h - 12}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(
    `<text x="16" y="${m.t + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.t + ph / 2})">${escapeXml(o.yLabel)}</text>`,
  );
  out.push('</g>');
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const valid = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    const d = valid.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${fmt(sx(x))},${fmt(sy(y))}`).join(' ');
    out.push(
      `<path d="${d === '' ? 'M0,0' : d}" fill="none" stroke="${color}" stroke-width="2" data-series="${escapeXml(s.name)}"/>`,
    );
    for (const [x, y] of valid) out.push(`<circle cx="${fmt(sx(x))}" cy="${fmt(sy(y))}" r="3" fill="${color}"/>`);
    const ly = m.t + 10 + i * 18;
    out.push(`<rect x="${m.l + pw + 15}" y="${ly - 8}" width="12" height="3" fill="${color}"/>`);
    out.push(`<text x="${m.l + pw + 32}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function barChart(o: { title: string; yLabel: string; bars: readonly Bar[]; width?: number; height?: number }) {
  const w = o.width ?? 640;
  const h = o.height ?? 380;
  const m = { l: 70, r: 20, t: 40, b: 70 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const yMax = niceMax(Math.max(1e-9, ...o.bars.map((b) => b.value)));
  const out = header(w, h, o.title);
  out.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#999"/>`);
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    const y = m.t + ph - (v / yMax) * ph;
    out.push(`<text x="${m.l - 8}" y="${fmt(y + 4)}" text-anchor="end">${escapeXml(formatTick(v))}</text>`);
    out.push(`<line x1="${m.l}" y1="${fmt(y)}" x2="${m.l + pw}" y2="${fmt(y)}" stroke="#eee"/>`);
  }
  const slot = pw / Math.max(1, o.bars.length);
  o.bars.forEach((b, i) => {
    const bh = (Math.max(0, b.value) / yMax) * ph;
    const x = m.l + i * slot + slot * 0.15;
    const color = COLORS[i % COLORS.length] as string;
    out.push(
      `<rect x="${fmt(x)}" y="${fmt(m.t + ph - bh)}" width="${fmt(slot * 0.7)}" height="${fmt(bh)}" fill="${color}"/>`,
    );
    out.push(
      `<text x="${fmt(x + slot * 0.35)}" y="${fmt(m.t + ph - bh - 4)}" text-anchor="middle">${escapeXml(b.value.toFixed(2))}</text>`,
    );
    out.push(
      `<text x="${fmt(x + slot * 0.35)}" y="${m.t + ph + 16}" text-anchor="middle" font-size="11">${escapeXml(b.name)}</text>`,
    );
  });
  out.push(
    `<text x="16" y="${m.t + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.t + ph / 2})">${escapeXml(o.yLabel)}</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export interface BarGroup {
  name: string;
  /** One value per legend entry (NaN: no bar). */
  values: readonly number[];
}

/** Bars in groups: one group per server, one bar per legend entry (same colour across groups). */
export function groupedBarChart(o: {
  title: string;
  yLabel: string;
  legend: readonly string[];
  groups: readonly BarGroup[];
  width?: number;
  height?: number;
}) {
  const w = o.width ?? 720;
  const h = o.height ?? 400;
  const m = { l: 70, r: 20, t: 40 + 16 * o.legend.length, b: 70 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const all = o.groups.flatMap((g) => g.values.filter(Number.isFinite));
  const yMax = niceMax(Math.max(1e-9, ...all));
  const out = header(w, h, o.title);
  o.legend.forEach((name, j) => {
    const ly = 36 + j * 16;
    out.push(`<rect x="${m.l}" y="${ly - 9}" width="12" height="10" fill="${COLORS[j % COLORS.length]}"/>`);
    out.push(`<text x="${m.l + 18}" y="${ly}">${escapeXml(name)}</text>`);
  });
  out.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#999"/>`);
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    const y = m.t + ph - (v / yMax) * ph;
    out.push(`<text x="${m.l - 8}" y="${fmt(y + 4)}" text-anchor="end">${escapeXml(formatTick(v))}</text>`);
    out.push(`<line x1="${m.l}" y1="${fmt(y)}" x2="${m.l + pw}" y2="${fmt(y)}" stroke="#eee"/>`);
  }
  const slot = pw / Math.max(1, o.groups.length);
  const n = Math.max(1, o.legend.length);
  const bw = (slot * 0.8) / n;
  o.groups.forEach((g, i) => {
    const x0 = m.l + i * slot + slot * 0.1;
    g.values.forEach((v, j) => {
      if (!Number.isFinite(v)) return;
      const bh = (Math.max(0, v) / yMax) * ph;
      const x = x0 + j * bw;
      out.push(
        `<rect x="${fmt(x)}" y="${fmt(m.t + ph - bh)}" width="${fmt(bw * 0.9)}" height="${fmt(bh)}" fill="${COLORS[j % COLORS.length]}"/>`,
      );
      out.push(
        `<text x="${fmt(x + bw * 0.45)}" y="${fmt(m.t + ph - bh - 4)}" text-anchor="middle" font-size="11">${escapeXml(v.toFixed(2))}</text>`,
      );
    });
    out.push(
      `<text x="${fmt(x0 + slot * 0.4)}" y="${m.t + ph + 16}" text-anchor="middle" font-size="11">${escapeXml(g.name)}</text>`,
    );
  });
  out.push(
    `<text x="16" y="${m.t + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.t + ph / 2})">${escapeXml(o.yLabel)}</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
