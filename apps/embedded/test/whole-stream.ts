import { SCOPES } from '@hydra/protocol';
import type { StreamClient } from '@hydra/test-support';

/**
 * Waits until `client` has the whole demo stream a newcomer is promised:
 * `connected` first, then a snapshot of every scope and live events of every
 * scope (within `timeoutMs`).
 */
export function untilWholeStream(client: StreamClient, timeoutMs: number): Promise<boolean> {
  return client.until(
    () =>
      client.messages[0]?.type === 'connected' &&
      SCOPES.every((scope) =>
        client.messages.some((m) => m.type === 'snapshot' && (m.data as { scope: string }).scope === scope),
      ) &&
      SCOPES.every((scope) => client.messages.some((m) => m.type === scope)),
    timeoutMs,
    'connected, a snapshot per scope and live events of every scope',
  );
}
