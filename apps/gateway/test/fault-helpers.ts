import { type GatewayProcess, type ServiceProcess, spawnService } from '@hydra/test-support';

/** Redis faults need a local redis-server the test can kill and restart (not a container). */
export function useLocalRedis(): void {
  process.env.HYDRA_TEST_REDIS ??= 'local';
}

export async function adminGet(gw: GatewayProcess, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}${path}`);
  return { status: res.status, text: await res.text() };
}

/** The value of an unlabelled (or exactly labelled) sample on the gateway's /metrics, NaN if absent. */
export async function metricValue(gw: GatewayProcess, sample: string): Promise<number> {
  const { text } = await adminGet(gw, '/metrics');
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? Number.NaN : Number(line.slice(sample.length + 1));
}

/**
 * Polls `check` every `everyMs` until it returns a truthy value, at most
 * `timeoutMs` (for state with no event to await: probes, metrics, Redis keys).
 */
export async function pollUntil<T>(
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
}

export const readyStatus = async (gw: GatewayProcess) => (await adminGet(gw, '/readyz')).status;

export interface PublisherProcess extends ServiceProcess {
  readonly ingestUrl: string;
}

export const INGEST_TOKEN = 'faults-ingest-token';

/** `apps/publisher/dist/main.js` on a free port. */
export async function startPublisherProcess(env: Record<string, string>): Promise<PublisherProcess> {
  const p = spawnService('apps/publisher/dist/main.js', {
    HYDRA_INGEST_TOKEN: INGEST_TOKEN,
    HYDRA_PUBLISHER_PORT: '0',
    ...env,
  });
  const line = await p.waitForLog((l) => l.msg === 'publisher listening');
  return { ...p, ingestUrl: `http://127.0.0.1:${line.port}/v1/events` };
}

/** POSTs events to the publisher; resolves with the HTTP status. */
export async function ingest(url: string, events: unknown[]): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  await res.arrayBuffer();
  return res.status;
}

/** POSTs events to the publisher; resolves with the seq each event got, in order (anything but 200 throws). */
export async function ingestSeqs(url: string, events: unknown[]): Promise<number[]> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { events: { index: number; seq: number }[] };
  return body.events.sort((x, y) => x.index - y.index).map((e) => e.seq);
}
