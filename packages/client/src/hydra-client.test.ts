import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HydraClient, type HydraClientOptions, type HydraEvent, type HydraStatus } from './hydra-client.js';
import type { SocketEvent, WebSocketConstructor } from './socket.js';

/** A scripted browser-like WebSocket (no `on`): pure-logic tests of the client's decisions. */
class FakeSocket {
  static made: FakeSocket[] = [];
  readonly listeners = new Map<string, ((event: SocketEvent) => void)[]>();
  closedWith: number | undefined;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  addEventListener(type: string, listener: (event: SocketEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close(code?: number): void {
    this.closedWith = code;
  }
  fire(type: string, event: SocketEvent = {}): void {
    for (const l of this.listeners.get(type) ?? []) l(event);
  }
  send(message: unknown): void {
    this.fire('message', { data: JSON.stringify(message) });
  }
  open(scopes = ['aircraft']): void {
    this.fire('open');
    this.send({ type: 'connected', data: { scopes, ts: 1 } });
  }
  serverClose(code: number, reason = ''): void {
    this.fire('close', { code, reason });
  }
  get query(): URLSearchParams {
    return new URL(this.url).searchParams;
  }
}

const last = () => FakeSocket.made.at(-1) as FakeSocket;
const event = (seq: number, id = 'x') => ({ type: 'aircraft', seq, ts: 1000 + seq, data: { id, n: seq } });
const snapshot = (seq: number, items: unknown[] = []) => ({
  type: 'snapshot',
  data: { scope: 'aircraft', seq, ts: 1000 + seq, part: 1, parts: 1, complete: true, items },
});

function start(options: Partial<HydraClientOptions> = {}) {
  const client = new HydraClient({
    url: ['ws://a/v1/stream', 'ws://b/v1/stream'],
    apiKey: 'hydra_k1_test',
    WebSocket: FakeSocket as unknown as WebSocketConstructor,
    random: () => 0.5,
    ...options,
  });
  const events: HydraEvent[] = [];
  const statuses: HydraStatus[] = [];
  client.on('event', (e) => events.push(e));
  client.on('status', (s) => statuses.push(s));
  vi.advanceTimersByTime(0);
  return { client, events, statuses };
}

describe('HydraClient decisions', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.made = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks for heartbeats with a browser-like socket, and resumes from the last delivered seq with its ts', () => {
    const { events } = start();
    expect(last().query.get('heartbeat')).toBe('true');
    expect(last().query.get('apiKey')).toBe('hydra_k1_test');
    last().open();
    last().send(snapshot(10, [{ id: 'x' }]));
    last().send(event(11));
    last().send(event(11)); // a duplicate is never delivered twice
    last().serverClose(1011);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.made).toHaveLength(2);
    expect(last().url.startsWith('ws://b/v1/stream?')).toBe(true);
    expect(last().query.get('resume')).toBe('aircraft:11:1011');
    expect(events.map((e) => e.seq)).toEqual([11]);
  });

  it('reconnects at once with resume on a seq gap, without delivering past it', () => {
    const { events, statuses } = start();
    last().open();
    last().send(snapshot(10));
    last().send(event(11));
    last().send(event(13));
    const gap = statuses.at(-1);
    expect(gap).toMatchObject({ state: 'reconnecting', delayMs: 0 });
    expect(gap?.reason).toMatch(/seq gap in aircraft: 13 after 11/);
    expect(events.map((e) => e.seq)).toEqual([11]);
    vi.advanceTimersByTime(0);
    expect(last().query.get('resume')).toBe('aircraft:11:1011');
    // A second gap soon after backs off: a server that keeps producing them is not hammered.
    last().open();
    last().send(event(15));
    expect(statuses.at(-1)?.delayMs).toBeGreaterThan(0);
  });

  it("with conflate, asks for it and takes a conflated entity scope's seq jumps for no gap; a log scope's still is one", () => {
    const { events, statuses } = start({ conflate: 5000 });
    expect(last().query.get('conflate')).toBe('5000');
    last().open(['aircraft', 'alerts']);
    last().send(snapshot(10));
    last().send(event(14, 'x'));
    last().send(event(19, 'y'));
    last().send(event(19, 'y')); // not increasing: never delivered twice
    expect(events.map((e) => e.seq)).toEqual([14, 19]);
    expect(statuses.filter((s) => s.state === 'reconnecting')).toEqual([]);
    last().send({
      type: 'snapshot',
      data: { scope: 'alerts', seq: 3, ts: 1, part: 1, parts: 1, complete: true, items: [] },
    });
    last().send({ type: 'alerts', seq: 5, ts: 2, data: { headline: 'h' } });
    expect(statuses.at(-1)?.reason).toMatch(/seq gap in alerts: 5 after 3/);
  });

  it('retries a drop right after the upgrade (1006, no message) at once, once; then backs off', () => {
    const { statuses } = start();
    last().fire('open');
    last().serverClose(1006);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', delayMs: 0 });
    vi.advanceTimersByTime(0);
    last().fire('open');
    last().serverClose(1006);
    expect(statuses.at(-1)?.delayMs).toBeGreaterThan(0);
  });

  it('retries a drain (1001) within drainMs, jittered', () => {
    const { statuses } = start({ backoff: { drainMs: 800 } });
    last().open();
    last().serverClose(1001);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', code: 1001, delayMs: 400 });
  });

  it('ends on 1008 and 4001; the iterator finishes', async () => {
    for (const code of [1008, 4001]) {
      FakeSocket.made = [];
      const { client, statuses } = start();
      const iterator = client.events();
      last().open();
      last().send({ type: 'error', data: { code: 'unauthorized', message: 'invalid, expired, or revoked API key' } });
      last().serverClose(code);
      vi.advanceTimersByTime(60_000);
      expect(FakeSocket.made).toHaveLength(1);
      expect(statuses.at(-1)).toMatchObject({ state: 'closed', code });
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    }
  });

  it('backs off at least busyMs on 1013', () => {
    const { statuses } = start({ backoff: { busyMs: 2000, initialMs: 100 } });
    last().open();
    last().serverClose(1013);
    expect(statuses.at(-1)?.delayMs).toBeGreaterThanOrEqual(2000);
  });

  it('on 4002 drops the position the error names, and takes a snapshot of that scope', () => {
    start();
    last().open(['aircraft', 'signals']);
    last().send(snapshot(10));
    last().send({ type: 'snapshot', data: { scope: 'signals', seq: 4, ts: 5, complete: true, items: [] } });
    last().serverClose(1011);
    vi.advanceTimersByTime(1000);
    expect(last().query.get('resume')).toBe('aircraft:10:1010,signals:4:5');
    last().fire('open');
    last().send({
      type: 'error',
      data: { code: 'bad_request', message: 'resume: aircraft:10 is ahead of the stream' },
    });
    last().serverClose(4002);
    vi.advanceTimersByTime(1000);
    expect(last().query.get('resume')).toBe('signals:4:5');
  });

  it("announces a resync once the fresh snapshot replaced the scope's state", () => {
    const { client } = start();
    const resyncs: unknown[] = [];
    client.on('resync', (r) => resyncs.push(r));
    last().open();
    last().send(snapshot(10, [{ id: 'old' }]));
    last().send({ type: 'resync', data: { scope: 'aircraft', reason: 'backplane_gap' } });
    expect(resyncs).toEqual([]);
    last().send(snapshot(50, [{ id: 'new' }]));
    expect(resyncs).toEqual([{ scope: 'aircraft', reason: 'backplane_gap', seq: 50 }]);
    expect([...client.entities('aircraft').keys()]).toEqual(['new']);
  });

  it('reconnects after two silent intervals (heartbeat), learning the interval from heartbeats', () => {
    const { statuses } = start();
    last().open();
    last().send({ type: 'heartbeat', data: { ts: 1, intervalMs: 1000 } });
    vi.advanceTimersByTime(1900);
    expect(statuses.at(-1)?.state).toBe('open');
    vi.advanceTimersByTime(400);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'heartbeat timeout' });
  });

  it('does not take a gateway that ignores heartbeat=true for dead: only missed heartbeats count', () => {
    const { statuses } = start({ pingIntervalMs: 1000 });
    last().open();
    vi.advanceTimersByTime(5000);
    expect(statuses.at(-1)?.state).toBe('open');
  });

  it('ends with the reason when the socket cannot even be made (a malformed URL)', () => {
    class Throwing {
      constructor() {
        throw new SyntaxError('invalid URL');
      }
    }
    const { statuses } = start({ WebSocket: Throwing as unknown as WebSocketConstructor });
    expect(statuses.at(-1)).toMatchObject({ state: 'closed', reason: 'cannot connect: invalid URL' });
  });

  it('close() ends it: no reconnect', () => {
    const { client, statuses } = start();
    last().open();
    client.close();
    expect(last().closedWith).toBe(1000);
    last().serverClose(1000);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(statuses.at(-1)).toMatchObject({ state: 'closed' });
  });

  it('ends on a 4002 when it sent no resume position: the request itself is refused, retrying would loop', () => {
    const { statuses } = start();
    last().fire('open');
    last().send({ type: 'error', data: { code: 'bad_request', message: 'query string too long' } });
    last().serverClose(4002);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(statuses.at(-1)).toMatchObject({ state: 'closed', code: 4002, reason: 'query string too long' });
  });

  it('dials nothing more when a status listener closes the client on `reconnecting`', () => {
    const { client } = start();
    client.on('status', (s) => {
      if (s.state === 'reconnecting') client.close();
    });
    last().open();
    last().serverClose(1011);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.made).toHaveLength(1);
  });

  it('passes on every frame it reads, event frames only when delivered; reports unreadable ones and goes on', () => {
    const { client, events, statuses } = start();
    const frames: string[] = [];
    const invalid: string[] = [];
    client.on('frame', (f) => frames.push(`${f.message.type}:${f.text.length}`));
    client.on('invalid', (f) => invalid.push(f.reason));
    last().open();
    last().send(snapshot(10));
    last().send(event(11));
    last().send(event(11)); // a duplicate: not passed on
    last().fire('message', { data: 'not json' });
    last().send({ type: 'aircraft', seq: -1, ts: 1, data: {} });
    last().send({ type: 'aircraft', seq: 1.5, ts: 1, data: {} });
    last().send({ data: {} });
    last().send({ type: 'snapshot', data: { scope: 'aircraft', seq: 3 } });
    last().send(event(12));
    expect(frames.map((f) => f.split(':')[0])).toEqual(['connected', 'snapshot', 'aircraft', 'aircraft']);
    expect(invalid).toEqual([
      'not JSON',
      'aircraft.seq is not a whole number',
      'aircraft.seq is not a whole number',
      'no type',
      'snapshot without items',
    ]);
    expect(events.map((e) => e.seq)).toEqual([11, 12]);
    expect(statuses.at(-1)?.state).toBe('open');
  });

  it("reports the socket's own error text when the close gives no reason", () => {
    const { statuses } = start();
    last().fire('error', { message: 'connect ECONNREFUSED 127.0.0.1:9' });
    last().serverClose(1006);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'connect ECONNREFUSED 127.0.0.1:9' });
  });

  it('pause() suspends the liveness check (and the socket, where it can pause); resume() starts it afresh', () => {
    const { client, statuses } = start();
    last().open();
    last().send({ type: 'heartbeat', data: { ts: 1, intervalMs: 1000 } });
    client.pause();
    vi.advanceTimersByTime(10_000);
    expect(statuses.at(-1)?.state).toBe('open');
    client.resume();
    vi.advanceTimersByTime(1900);
    expect(statuses.at(-1)?.state).toBe('open');
    vi.advanceTimersByTime(400);
    expect(statuses.at(-1)).toMatchObject({ state: 'reconnecting', reason: 'heartbeat timeout' });
  });
});
