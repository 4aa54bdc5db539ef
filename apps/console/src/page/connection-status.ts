import type { HydraStatus } from '@hydra/client';

/**
 * One line for the connection status: the SDK's state, and for a close the
 * code and reason (a refusal such as a revoked key: `closed 1008 invalid,
 * expired, or revoked API key`).
 */
export function describeStatus(status: HydraStatus): string {
  switch (status.state) {
    case 'connecting':
      return 'connecting';
    case 'open':
      return 'open';
    case 'reconnecting': {
      const wait = status.delayMs === undefined ? '' : `, retry in ${(status.delayMs / 1000).toFixed(1)} s`;
      return `reconnecting ${closeText(status)} (attempt ${status.attempt ?? 1}${wait})`;
    }
    case 'closed':
      return `closed ${closeText(status)}`;
  }
}

function closeText(status: HydraStatus): string {
  const reason = status.reason ? ` ${status.reason}` : '';
  return `${status.code ?? ''}${reason}`.trim();
}
