import { readFileSync } from 'node:fs';
import type { Scope } from '@hydra/protocol';
import type { ChainableCommander, Redis } from 'ioredis';
import { redisKeys } from './redis-keys.js';
import type { ScopeRetention } from './retention.js';

/**
 * Loads the Lua scripts of `packages/backplane/lua` and registers them on
 * ioredis clients.
 *
 * Paths resolve relative to this module (`../lua/<name>.lua`), which is the
 * same directory from `src/` (tests) and from `dist/` (built package; the
 * package ships `lua/`). Scripts are read once per process.
 *
 * Registered commands run as EVALSHA; ioredis sends the full EVAL the first
 * time a script is used on a socket and again on NOSCRIPT, so a Redis restart
 * that flushed the script cache (or a failover) needs no reload step.
 */

const sources = new Map<string, string>();

/** The text of `lua/<name>.lua`. Throws if the file is missing (a packaging error). */
export function readLuaScript(name: string): string {
  let lua = sources.get(name);
  if (lua === undefined) {
    lua = readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');
    sources.set(name, lua);
  }
  return lua;
}

export interface LuaCommandDefinition {
  /** The ioredis command name it is registered as (unique per client). */
  command: string;
  /** File name under `lua/`, without `.lua`. */
  file: string;
  /** Fixed KEYS count, or undefined when the caller passes numkeys first. */
  numberOfKeys?: number | undefined;
  /** Marks the command read-only (ioredis may route it to replicas). */
  readOnly?: boolean | undefined;
}

/** Registers a script on a client once; later calls on the same client are no-ops. */
export function defineLuaCommand(redis: Redis, definition: LuaCommandDefinition): void {
  if (typeof (redis as unknown as Record<string, unknown>)[definition.command] === 'function') return;
  redis.defineCommand(definition.command, {
    lua: readLuaScript(definition.file),
    ...(definition.numberOfKeys === undefined ? {} : { numberOfKeys: definition.numberOfKeys }),
    ...(definition.readOnly ? { readOnly: true } : {}),
  });
}

/** `lua/publish.lua`: numkeys first (3 for entity scopes, 2 for log scopes). */
export const PUBLISH_SCRIPT: LuaCommandDefinition = Object.freeze({ command: 'hydraPublishEvent', file: 'publish' });
/** `lua/snapshot.lua`: numkeys first (3 for entity scopes, 2 for log scopes). */
export const SNAPSHOT_SCRIPT: LuaCommandDefinition = Object.freeze({
  command: 'hydraReadSnapshot',
  file: 'snapshot',
  readOnly: true,
});

type ScriptArg = string | number;

/** The commands of PUBLISH_SCRIPT and SNAPSHOT_SCRIPT as they appear on a client or pipeline. */
export interface HydraScriptCommands {
  hydraPublishEvent(numKeys: number, ...args: ScriptArg[]): Promise<[number, number]>;
  hydraReadSnapshot(numKeys: number, ...args: ScriptArg[]): Promise<[number, ...string[]]>;
}

export interface HydraScriptPipeline {
  hydraPublishEvent(numKeys: number, ...args: ScriptArg[]): ChainableCommander;
}

/** Registers the event scripts on `redis` and returns it typed with their commands. */
export function withEventScripts(redis: Redis): Redis & HydraScriptCommands {
  defineLuaCommand(redis, PUBLISH_SCRIPT);
  defineLuaCommand(redis, SNAPSHOT_SCRIPT);
  return redis as Redis & HydraScriptCommands;
}

/**
 * numkeys followed by the KEYS of publish.lua and snapshot.lua for a scope:
 * entity scopes `3, seq, state, seen`; log scopes `2, seq, recent`. All carry
 * the scope's hash tag.
 */
export function eventScriptKeys(scope: Scope, kind: ScopeRetention['kind']): [number, ...string[]] {
  return kind === 'entity'
    ? [3, redisKeys.scopeSeq(scope), redisKeys.entityState(scope), redisKeys.entityLastSeen(scope)]
    : [2, redisKeys.scopeSeq(scope), redisKeys.logRecent(scope)];
}
