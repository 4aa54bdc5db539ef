import { CloseCode } from '@hydra/protocol';
import { StreamFixture } from '@hydra/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HydraClient, type WebSocketConstructor } from '../src/index.js';
import { RecordingClient } from './sdk-helpers.js';

const BACKOFF = { initialMs: 100, maxMs: 1000, drainMs: 300 };

/** `ws`, recording what each dial asked for (URL and options) and what it negotiated. */
function recordingWs(dials: { url: string; options: unknown; ws: WebSocket }[]): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string, options?: WebSocket.ClientOptions) {
      super(url, options);
      dials.push({ url, options, ws: this });
    }
  } as unknown as WebSocketConstructor;
}

describe('@hydra/client options: scopes and compression', () => {
  let f: StreamFixture;

  beforeAll(async () => {
    f = await StreamFixture.start();
  });
  afterAll(async () => {
    await f?.stop();
  });

  it('scopes: gets only the scopes named, and resumes them on another replica with the same option', async () => {
    const [a, b] = await Promise.all([f.gateway(), f.gateway()]);
    const { key } = await f.key(['signals', 'aircraft', 'alerts']);
    const dials: { url: string; options: unknown; ws: WebSocket }[] = [];
    const c = new RecordingClient({
      url: [a.url, b.url],
      apiKey: key,
      scopes: ['alerts', 'aircraft'],
      backoff: BACKOFF,
      WebSocket: recordingWs(dials),
    });
    await c.until(() => c.snapshots.length === 2, 15_000, 'two snapshots');
    expect(c.ofState('open')[0]?.scopes).toEqual(['aircraft', 'alerts']);
    expect(c.snapshots.map((s) => s.scope).sort()).toEqual(['aircraft', 'alerts']);
    const seen = await f.publish('alerts', { headline: 'seen' });
    await c.until(() => c.lastSeq('alerts') === seen, 15_000, 'the first alert');

    a.kill('SIGTERM');
    await c.until(() => c.ofState('reconnecting').length === 1, 15_000, 'the 1001');
    await f.publish('signals', { kind: 'rf', label: 'not asked' });
    const missed = await f.publish('alerts', { headline: 'missed' });
    await c.until(() => c.ofState('open').length === 2, 15_000, 'the resumed connection');
    const live = await f.publish('aircraft', { id: 'x1', lat: 1, lon: 1 });
    await c.until(() => c.lastSeq('aircraft') === live, 15_000, 'the live aircraft');

    expect(dials).toHaveLength(2);
    for (const dial of dials) expect(new URL(dial.url).searchParams.get('scopes')).toBe('alerts,aircraft');
    expect(new URL(dials[1]?.url ?? '').searchParams.get('resume')).toMatch(/alerts:/);
    expect(c.snapshots).toHaveLength(2); // resumed, not re-snapshotted
    expect(c.seqs('alerts')).toEqual([seen, missed]);
    expect(c.events.map((e) => e.type)).not.toContain('signals');
    c.client.close();
    await b.stop();
  });

  it('scopes: a scope the key lacks ends the client with 4002 and the reason, without retrying', async () => {
    const gw = await f.gateway();
    const { key } = await f.key(['alerts']);
    const c = new RecordingClient({ url: gw.url, apiKey: key, scopes: ['alerts', 'cyber'], backoff: BACKOFF });
    const closed = await c.until(() => c.ofState('closed')[0], 15_000, 'closed');
    expect(closed.code).toBe(CloseCode.BadRequest);
    expect(closed.reason).toBe('scopes: the key does not grant scope cyber');
    expect(c.ofState('connecting')).toHaveLength(1);
    await gw.stop();
  });

  it('scopes: an empty list or a scope named twice is refused at construction', () => {
    const base = { url: 'ws://127.0.0.1:1/v1/stream', apiKey: 'k', WebSocket: WebSocket as never };
    expect(() => new HydraClient({ ...base, scopes: [] })).toThrow(/scopes must name at least one scope/);
    expect(() => new HydraClient({ ...base, scopes: ['alerts', 'alerts'] })).toThrow(/each once/);
  });

  it('compression: offered by default with ws and used where the gateway allows it; compression=false does not offer it', async () => {
    const gw = await f.gateway({ HYDRA_COMPRESSION: 'shared' });
    const { key } = await f.key(['alerts']);
    const dials: { url: string; options: unknown; ws: WebSocket }[] = [];
    const offering = new RecordingClient({ url: gw.url, apiKey: key, WebSocket: recordingWs(dials) });
    const plain = new RecordingClient({ url: gw.url, apiKey: key, compression: false, WebSocket: recordingWs(dials) });
    await Promise.all([offering, plain].map((c) => c.until(() => c.snapshots.length === 1, 15_000, 'the snapshot')));
    const seq = await f.publish('alerts', { headline: 'compressed or not' });
    await Promise.all([offering, plain].map((c) => c.until(() => c.lastSeq('alerts') === seq, 15_000, 'the alert')));
    expect(offering.events.at(-1)?.data).toEqual(plain.events.at(-1)?.data);
    const negotiated = dials.map((d) => d.ws.extensions);
    expect(negotiated.filter((e) => e.includes('permessage-deflate'))).toHaveLength(1);
    expect(dials.find((d) => d.options !== undefined)?.options).toEqual({ perMessageDeflate: false });
    offering.client.close();
    plain.client.close();
    await gw.stop();
  });
});
