import { SCOPES as PROTOCOL_SCOPES, SCOPE_KIND } from '@hydra/protocol';
import { describe, expect, it } from 'vitest';
import { ENTITY_SCOPES, LOG_SCOPES, SCOPES } from './scopes.js';

describe('the console’s copy of the scopes', () => {
  it('is the protocol’s, with the same entity and log kinds', () => {
    expect([...SCOPES].sort()).toEqual([...PROTOCOL_SCOPES].sort());
    for (const scope of ENTITY_SCOPES) expect(SCOPE_KIND[scope]).toBe('entity');
    for (const scope of LOG_SCOPES) expect(SCOPE_KIND[scope]).toBe('log');
  });
});
