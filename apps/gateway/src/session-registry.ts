import type { Scope } from '@hydra/protocol';
import type { Session } from './session.js';

/**
 * The open, authorised sessions of one gateway, indexed by key id (to act on
 * revocation and expiry); iteration walks the per-key sets, so each session
 * costs one set entry. Expiry uses one timer per distinct key, never one per
 * socket.
 */
export class SessionRegistry {
  private readonly byKey = new Map<string, Set<Session>>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private count = 0;

  constructor(private readonly onKeyExpired: (keyId: string, sessions: Session[]) => void) {}

  get size(): number {
    return this.count;
  }

  /** Registers an authorised session (one with a key); others are ignored. */
  add(session: Session): void {
    const keyId = session.keyId;
    if (keyId === null) return;
    let set = this.byKey.get(keyId);
    if (!set) {
      set = new Set();
      this.byKey.set(keyId, set);
      if (session.expiresAt !== null) this.scheduleExpiry(keyId, session.expiresAt);
    }
    if (set.has(session)) return;
    set.add(session);
    this.count++;
  }

  /** Whether the session was registered. */
  remove(session: Session): boolean {
    const keyId = session.keyId;
    if (keyId === null) return false;
    const set = this.byKey.get(keyId);
    if (!set?.delete(session)) return false;
    this.count--;
    if (set.size === 0) {
      this.byKey.delete(keyId);
      const timer = this.expiryTimers.get(keyId);
      if (timer) clearTimeout(timer);
      this.expiryTimers.delete(keyId);
    }
    return true;
  }

  /** The distinct key ids of the registered sessions. */
  keyIds(): string[] {
    return [...this.byKey.keys()];
  }

  sessionsOfKey(keyId: string): Session[] {
    return [...(this.byKey.get(keyId) ?? [])];
  }

  sessionsOfScope(scope: Scope): Session[] {
    const out: Session[] = [];
    this.forEach((s) => {
      if (s.scopes.includes(scope)) out.push(s);
    });
    return out;
  }

  /**
   * Visits every session: a session removed during the walk (closed by `visit`)
   * is not visited again, one added may or may not be. Allocates nothing per
   * session, so the once-a-second sweeps over an idle gateway stay free.
   */
  forEach(visit: (session: Session) => void): void {
    for (const set of this.byKey.values()) for (const session of set) visit(session);
  }

  snapshot(): Session[] {
    const out: Session[] = [];
    this.forEach((s) => {
      out.push(s);
    });
    return out;
  }

  close(): void {
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
  }

  private scheduleExpiry(keyId: string, expiresAt: number): void {
    // setTimeout caps at ~24.8 days: longer waits re-arm until the real expiry.
    const delay = Math.min(Math.max(0, expiresAt - Date.now()), 2_000_000_000);
    const timer = setTimeout(() => {
      this.expiryTimers.delete(keyId);
      if (Date.now() < expiresAt) {
        if (this.byKey.has(keyId)) this.scheduleExpiry(keyId, expiresAt);
        return;
      }
      this.onKeyExpired(keyId, this.sessionsOfKey(keyId));
    }, delay);
    timer.unref();
    this.expiryTimers.set(keyId, timer);
  }
}
