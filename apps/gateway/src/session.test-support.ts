import { Session } from './session.js';

/** A session for unit tests: a `signals` key, nothing to resume, no limiter slot. */
export function testSession(connId: number, wantSnapshot = true): Session {
  return new Session({
    connId,
    ip: '127.0.0.1',
    grant: { id: 'k', scopes: ['signals'], expiresAt: null },
    wantSnapshot,
    resume: new Map(),
    rejection: null,
    slotHeld: false,
    keyGeneration: 0,
  });
}
