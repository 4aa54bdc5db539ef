import { describe, expect, it } from 'vitest';
import { PacedSender } from './paced-sender.js';
import type { SocketData } from './session.js';
import { testSession } from './session.test-support.js';
import type { WebSocket } from './uws.js';

/** A session on a fake socket that holds everything it is sent until the test drains it. */
function stalledClient() {
  const state = { sent: [] as string[], backlog: 0 };
  const session = testSession(1);
  session.ws = {
    cork: (cb: () => void) => cb(),
    getBufferedAmount: () => state.backlog,
    send: (m: Buffer) => {
      state.sent.push(m.toString());
      state.backlog += m.length;
      return 1;
    },
  } as unknown as WebSocket<SocketData>;
  return { session, state };
}

const frames = (prefix: string, n: number, size = 100) =>
  Array.from({ length: n }, (_, i) => Buffer.from(`${prefix}${i}`.padEnd(size, '.')));

describe('PacedSender', () => {
  it('sends a batch that fits at once and says so', () => {
    const { session, state } = stalledClient();
    const pacer = new PacedSender(1000);
    expect(pacer.send(session, frames('a', 5), () => undefined)).toBe(true);
    expect(state.sent).toHaveLength(5);
    expect(session.outbox).toBeNull();
  });

  it('keeps the backlog within the budget, queues later batches behind, and continues each in order', () => {
    const { session, state } = stalledClient();
    const pacer = new PacedSender(350);
    const done: string[] = [];
    expect(pacer.send(session, frames('a', 5), () => done.push('a'))).toBe(false);
    expect(pacer.send(session, frames('b', 2), () => done.push('b'))).toBe(false);
    expect(state.sent).toHaveLength(3);
    while (session.outbox !== null) {
      expect(state.backlog).toBeLessThanOrEqual(350);
      state.backlog = 0;
      pacer.onDrain(session);
    }
    expect(state.sent.map((s) => s.replace(/\.+$/, ''))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1']);
    expect(done).toEqual(['a', 'b']);
  });

  it('reports each batch that meets backpressure and is queued (hydra_paced_sends_total)', () => {
    const { session } = stalledClient();
    let queued = 0;
    const pacer = new PacedSender(350, () => queued++);
    expect(pacer.send(session, frames('a', 2), () => undefined)).toBe(true);
    expect(queued).toBe(0);
    expect(pacer.send(session, frames('b', 5), () => undefined)).toBe(false);
    expect(pacer.send(session, frames('c', 1), () => undefined)).toBe(false);
    expect(queued).toBe(2);
  });

  it('sends one frame larger than the budget alone, once the backlog is empty', () => {
    const { session, state } = stalledClient();
    const pacer = new PacedSender(350);
    pacer.send(session, [...frames('s', 1, 100), ...frames('big', 1, 1000)], () => undefined);
    expect(state.sent).toHaveLength(1);
    state.backlog = 50; // read some, not all
    pacer.onDrain(session);
    expect(state.sent).toHaveLength(1);
    state.backlog = 0;
    pacer.onDrain(session);
    expect(state.sent).toHaveLength(2);
    expect(session.outbox).toBeNull();
  });

  it('resolves sendAsync with false when the session closes first', async () => {
    const { session } = stalledClient();
    const pacer = new PacedSender(150);
    const sent = pacer.sendAsync(session, frames('a', 5));
    session.closed = true;
    pacer.abandon(session);
    await expect(sent).resolves.toBe(false);
  });
});
