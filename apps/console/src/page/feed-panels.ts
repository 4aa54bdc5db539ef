import {
  capSeverityClass,
  cvssOf,
  cvssSeverityClass,
  cyberTitle,
  finite,
  formatFrequency,
  stixType,
} from './format.js';

type Data = Readonly<Record<string, unknown>>;
export type LogScope = 'alerts' | 'cyber' | 'signals';

/** Rows shown per panel (the SDK keeps as many: recentLimit). */
export const PANEL_ROWS = 50;

/** An element with a class and text (never HTML: every string here comes from the stream). */
function el(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One `alerts` item: a CAP severity badge in its colour, the event and the headline. */
function alertRow(data: Data): HTMLElement {
  const row = el('li', 'row');
  const severity = typeof data['severity'] === 'string' ? data['severity'] : 'Unknown';
  row.append(el('span', `badge ${capSeverityClass(severity)}`, severity));
  row.append(el('span', 'title', String(data['headline'] ?? data['event'] ?? data['identifier'] ?? '')));
  const meta = [data['event'], data['urgency'], data['certainty'], data['areaDesc']].filter(
    (v) => typeof v === 'string',
  );
  row.append(el('span', 'meta', meta.join(' · ')));
  return row;
}

/** One `cyber` item: its STIX type, what it is about, and the CVSS score in its severity's colour. */
function cyberRow(data: Data): HTMLElement {
  const row = el('li', 'row');
  row.append(el('span', 'badge stix', stixType(data)));
  row.append(el('span', 'title', cyberTitle(data)));
  const cvss = cvssOf(data);
  if (cvss) row.append(el('span', `badge ${cvssSeverityClass(cvss.severity)}`, `CVSS ${cvss.score} ${cvss.severity}`));
  const meta: string[] = [];
  if (typeof data['iocType'] === 'string') meta.push(data['iocType']);
  const confidence = finite(data['confidence']);
  if (confidence !== undefined) meta.push(`confidence ${confidence}`);
  row.append(el('span', 'meta', meta.join(' · ')));
  return row;
}

/** One `signals` item: kind, label, and the frequency (RF) or tone (OSINT). */
function signalRow(data: Data): HTMLElement {
  const row = el('li', 'row');
  row.append(el('span', 'badge signal', String(data['kind'] ?? 'signal')));
  row.append(el('span', 'title', String(data['label'] ?? '')));
  const meta: string[] = [];
  const freq = formatFrequency(data['freqHz']);
  if (freq) meta.push(freq);
  if (typeof data['modulation'] === 'string') meta.push(data['modulation']);
  const tone = finite(data['tone']);
  if (tone !== undefined) meta.push(`tone ${tone.toFixed(1)}`);
  const confidence = finite(data['confidence']);
  if (confidence !== undefined) meta.push(`confidence ${confidence}`);
  row.append(el('span', 'meta', meta.join(' · ')));
  return row;
}

const ROWS: Record<LogScope, (data: Data) => HTMLElement> = { alerts: alertRow, cyber: cyberRow, signals: signalRow };

/** Replaces a panel's list with `items` (oldest first, as the SDK's recent() gives them), newest first. */
export function renderPanel(list: HTMLElement, scope: LogScope, items: readonly Data[]): void {
  const rows: HTMLElement[] = [];
  for (let i = items.length - 1; i >= 0 && rows.length < PANEL_ROWS; i--) rows.push(ROWS[scope](items[i]!));
  list.replaceChildren(...rows);
}
