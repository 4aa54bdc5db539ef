import type { StreamMessage } from '@hydra/protocol';

/**
 * A frame's message, or why it cannot be one: JSON with a string `type`; an
 * event's `seq` a whole number (what the client orders and resumes by); a
 * snapshot's `items` a list. The rest of the shape is the server's promise.
 */
export function readFrame(text: string): StreamMessage | string {
  let message: { type?: unknown; seq?: unknown; data?: { items?: unknown } };
  try {
    message = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof message !== 'object' || message === null || typeof message.type !== 'string') return 'no type';
  if ('seq' in message && (!Number.isInteger(message.seq) || (message.seq as number) < 0)) {
    return `${message.type}.seq is not a whole number`;
  }
  if (message.type === 'snapshot' && !Array.isArray(message.data?.items)) return 'snapshot without items';
  return message as StreamMessage;
}
