import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CloseCode, CloseReason } from './close-codes.js';
import { ErrorCode, type ResyncReason } from './messages.js';
import { SCOPES } from './scopes.js';

const doc = parse(readFileSync(new URL('../asyncapi.yaml', import.meta.url), 'utf8'));

describe('asyncapi.yaml stays in step with the code', () => {
  it('is AsyncAPI 3 with the /v1/stream channel and its auth bindings', () => {
    expect(doc.asyncapi).toMatch(/^3\./);
    expect(doc.channels.stream.address).toBe('/v1/stream');
    const ws = doc.channels.stream.bindings.ws;
    expect(Object.keys(ws.query.properties).sort()).toEqual([
      'apiKey',
      'bbox',
      'conflate',
      'heartbeat',
      'resume',
      'scopes',
      'snapshot',
    ]);
    expect(Object.keys(ws.headers.properties)).toEqual(['x-api-key']);
  });

  it('describes every close code with its reason', () => {
    const documented = doc['x-close-codes'].map((c: { code: number; name: string; reason: string }) => [
      c.code,
      c.name,
      c.reason,
    ]);
    const inCode = Object.entries(CloseCode).map(([name, code]) => [code, name, CloseReason[code]]);
    expect(documented).toEqual(inCode);
    for (const code of Object.values(CloseCode)) expect(doc.info.description).toContain(`| ${code} |`);
  });

  it('has one message per scope plus connected, snapshot, resync, error and the opt-in heartbeat', () => {
    expect(Object.keys(doc.channels.stream.messages).sort()).toEqual(
      [...SCOPES, 'connected', 'snapshot', 'resync', 'error', 'heartbeat'].sort(),
    );
    expect(doc.components.schemas.Scope.enum).toEqual([...SCOPES]);
    expect(doc.components.schemas.Error.properties.data.properties.code.enum).toEqual(Object.values(ErrorCode));
  });

  it('lists every resync reason the gateway sends', () => {
    const reasons: Record<ResyncReason, true> = {
      history_gone: true,
      backplane_gap: true,
      replay_too_long: true,
      stream_reset: true,
    };
    expect(doc.components.schemas.Resync.properties.data.properties.reason.enum).toEqual(Object.keys(reasons));
  });

  it('resolves every local $ref', () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      const target = ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], doc);
      expect(target, ref).toBeDefined();
    }
  });
});
