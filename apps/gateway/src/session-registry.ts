import type { Scope } from '@hydra/protocol';
import type { Session } from './session.js';

/**
 * The open, authorised sessions of one gateway, indexed by key id (to act on
 * revocation and expiry) and by scope (to resynchronise). Expiry uses one
 * timer per distinct key, never one per socket.
 */
export class SessionRegistry {
  private readonly all = new Set<Session>();
  private readonly byKey = new Map<string, Set<Session>>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly onKeyExpired: (keyId: string, sessions: Session[]) => void) {}

  get size(): number {
    return this.all.size;
  }

  add(session: Session): void {
    this.all.add(session);
    const keyId = session.keyId;
    if (keyId === null) return;
    let set = this.byKey.get(keyId);
    if (!set) {
      set = new Set();
      this.byKey.set(keyId, set);
      if (session.expiresAt !== null) this.scheduleExpiry(keyId, session.expiresAt);
    }
    set.add(session);
  }

  /** Whether the session was registered. */
  remove(session: Session): boolean {
    if (!this.all.delete(session)) return false;
    const keyId = session.keyId;
    if (keyId === null) return true;
    const set = this.byKey.get(keyId);
    if (!set) return true;
    set.delete(session);
    if (set.size === 0) {
      this.byKey.delete(keyId);
      const timer = this.expiryTimers.get(keyId);
      if (timer) clearTimeout(timer);
      this.expiryTimers.delete(keyId);
    }
    return true;
  }

  sessionsOfKey(keyId: string): Session[] {
    return [...(this.byKey.get(keyId) ?? [])];
  }

  *sessionsOfScope(scope: Scope): Iterable<Session> {
    for (const s of this.all) if (s.scopes.includes(scope)) yield s;
  }

  values(): IterableIterator<Session> {
    return this.all.values();
  }

  snapshot(): Session[] {
    return [...this.all];
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
