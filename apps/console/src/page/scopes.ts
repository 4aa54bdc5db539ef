/**
 * The stream's scopes, as packages/protocol's SCOPES says (scopes.test.ts
 * checks): copied, not imported, so the page's bundle holds no protocol code.
 */
export const SCOPES = ['signals', 'aircraft', 'vessels', 'alerts', 'cyber'] as const;
export type Scope = (typeof SCOPES)[number];
export const ENTITY_SCOPES = ['aircraft', 'vessels'] as const;
export type EntityScope = (typeof ENTITY_SCOPES)[number];
export const LOG_SCOPES = ['alerts', 'cyber', 'signals'] as const;

export const isEntityScope = (scope: string): scope is (typeof ENTITY_SCOPES)[number] =>
  (ENTITY_SCOPES as readonly string[]).includes(scope);
