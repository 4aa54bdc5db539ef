import { describeValue, isPlainObject, truncate } from './describe-value.js';
import {
  type ConnectedMessage,
  ErrorCode,
  type ErrorMessage,
  type ResyncMessage,
  type ServerMessage,
  type SnapshotMessage,
} from './messages.js';
import { isScope } from './scopes.js';

const ERROR_CODES: ReadonlySet<unknown> = new Set(Object.values(ErrorCode));

function fail(problem: string): never {
  throw new Error(`invalid server message: ${problem}`);
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isTs(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Parses one server→client text frame and checks it against the wire shapes
 * of messages.ts: `connected`, `snapshot`, a scope event, `error`.
 *
 * Throws an Error naming the first mismatch (message prefixed `invalid server
 * message:`) for anything else. Fields beyond the documented ones are kept,
 * so a newer server's additions do not break an older client.
 */
export function parseServerMessage(text: string): ServerMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(`not valid JSON (${truncate(err instanceof Error ? err.message : String(err), 160)})`);
  }
  if (!isPlainObject(value)) fail(`expected an object, got ${describeValue(value)}`);
  const { type, data } = value;
  if (!isPlainObject(data)) fail(`data: expected an object, got ${describeValue(data)}`);

  switch (type) {
    case 'connected': {
      const { scopes, ts } = data;
      if (!Array.isArray(scopes)) fail(`connected.data.scopes: expected an array, got ${describeValue(scopes)}`);
      scopes.forEach((scope: unknown, i) => {
        if (!isScope(scope)) fail(`connected.data.scopes[${i}]: expected a scope, got ${describeValue(scope)}`);
      });
      if (!isTs(ts)) fail(`connected.data.ts: expected epoch milliseconds, got ${describeValue(ts)}`);
      return value as unknown as ConnectedMessage;
    }
    case 'snapshot': {
      const { scope, seq, ts, items } = data;
      if (!isScope(scope)) fail(`snapshot.data.scope: expected a scope, got ${describeValue(scope)}`);
      if (!isSeq(seq)) fail(`snapshot.data.seq: expected an integer >= 0, got ${describeValue(seq)}`);
      if (ts !== undefined && !isSeq(ts)) fail(`snapshot.data.ts: expected an integer >= 0, got ${describeValue(ts)}`);
      if (!Array.isArray(items)) fail(`snapshot.data.items: expected an array, got ${describeValue(items)}`);
      items.forEach((item: unknown, i) => {
        if (!isPlainObject(item)) fail(`snapshot.data.items[${i}]: expected an object, got ${describeValue(item)}`);
      });
      return value as unknown as SnapshotMessage;
    }
    case 'resync': {
      const { scope, reason } = data;
      if (!isScope(scope)) fail(`resync.data.scope: expected a scope, got ${describeValue(scope)}`);
      if (typeof reason !== 'string') fail(`resync.data.reason: expected a string, got ${describeValue(reason)}`);
      return value as unknown as ResyncMessage;
    }
    case 'error': {
      const { code, message } = data;
      if (!ERROR_CODES.has(code)) {
        fail(`error.data.code: expected one of ${[...ERROR_CODES].join(', ')}, got ${describeValue(code)}`);
      }
      if (typeof message !== 'string') fail(`error.data.message: expected a string, got ${describeValue(message)}`);
      return value as unknown as ErrorMessage;
    }
    default: {
      if (!isScope(type))
        fail(`type: expected connected, snapshot, resync, error or a scope, got ${describeValue(type)}`);
      const { seq, ts } = value;
      if (!isSeq(seq)) fail(`${type}.seq: expected an integer >= 0, got ${describeValue(seq)}`);
      if (!isTs(ts)) fail(`${type}.ts: expected epoch milliseconds, got ${describeValue(ts)}`);
      return value as unknown as ServerMessage;
    }
  }
}
