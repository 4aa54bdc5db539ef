import { readFileSync } from 'node:fs';
import type { Scope } from '@hydra/protocol';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connections.js';
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
    // `--#include lib/<file>.lua` lines are replaced by that file: Redis runs each
    // script standalone, so shared functions are inlined at load, not required.
    lua = readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8').replace(
      /^--#include ([\w./-]+\.lua)$/gm,
      (_line, file: string) => readFileSync(new URL(`../lua/${file}`, import.meta.url), 'utf8'),
    );
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
export function defineLuaCommand(redis: RedisClient, definition: LuaCommandDefinition): void {
  if (typeof (redis as unknown as Record<string, unknown>)[definition.command] === 'function') return;
  redis.defineCommand(definition.command, {
    lua: readLuaScript(definition.file),
    ...(definition.numberOfKeys === undefined ? {} : { numberOfKeys: definition.numberOfKeys }),
    ...(definition.readOnly ? { readOnly: true } : {}),
  });
}

/** `lua/publish.lua` (one event per run; the bench's baseline): numkeys first (4 for entity scopes, 3 for log scopes); see publishScriptKeys. */
export const PUBLISH_SCRIPT: LuaCommandDefinition = Object.freeze({ command: 'hydraPublishEvent', file: 'publish' });
/**
 * `lua/publish-batch.lua`: one chunk of one scope's events per run; numkeys
 * first (publishScriptKeys), then the ARGV RedisEventPublisher builds (the script's header lists them).
 */
export const PUBLISH_BATCH_SCRIPT: LuaCommandDefinition = Object.freeze({
  command: 'hydraPublishBatch',
  file: 'publish-batch',
});
/** `lua/snapshot.lua`: numkeys first (4 for entity scopes, 3 for log scopes); see publishScriptKeys. */
export const SNAPSHOT_SCRIPT: LuaCommandDefinition = Object.freeze({
  command: 'hydraReadSnapshot',
  file: 'snapshot',
  readOnly: true,
});
/** `lua/history.lua`: 2 keys (historyScriptKeys). */
export const HISTORY_SCRIPT: LuaCommandDefinition = Object.freeze({
  command: 'hydraReadHistory',
  file: 'history',
  numberOfKeys: 2,
  readOnly: true,
});
/** `lua/expire.lua`: 4 keys (expireScriptKeys). */
export const EXPIRE_SCRIPT: LuaCommandDefinition = Object.freeze({
  command: 'hydraExpireEntities',
  file: 'expire',
  numberOfKeys: 4,
});

type ScriptArg = string | number;

/** The commands of the event scripts as they appear on a client or pipeline. */
export interface HydraScriptCommands {
  hydraPublishEvent(numKeys: number, ...args: ScriptArg[]): Promise<[number, number]>;
  hydraPublishBatch(numKeys: number, ...args: ScriptArg[]): Promise<number[]>;
  hydraReadSnapshot(numKeys: number, ...args: ScriptArg[]): Promise<[number, number, ...string[]]>;
  /** The Buffer variant ioredis defines alongside every command: frames stay bytes. */
  hydraReadHistoryBuffer(...keysAndArgs: ScriptArg[]): Promise<Array<number | Buffer>>;
  hydraExpireEntities(...keysAndArgs: ScriptArg[]): Promise<number>;
}

export interface HydraScriptPipeline {
  hydraPublishEvent(numKeys: number, ...args: ScriptArg[]): ChainableCommander;
}

/** Registers the event scripts on `redis` and returns it typed with their commands. */
export function withEventScripts(redis: RedisClient): RedisClient & HydraScriptCommands {
  defineLuaCommand(redis, PUBLISH_SCRIPT);
  defineLuaCommand(redis, PUBLISH_BATCH_SCRIPT);
  defineLuaCommand(redis, SNAPSHOT_SCRIPT);
  defineLuaCommand(redis, HISTORY_SCRIPT);
  defineLuaCommand(redis, EXPIRE_SCRIPT);
  return redis as RedisClient & HydraScriptCommands;
}

/**
 * numkeys followed by a scope's state keys: entity scopes `3, seq, state,
 * seen`; log scopes `2, seq, recent`. All carry the scope's hash tag.
 * publishScriptKeys adds the history stream.
 */
export function eventScriptKeys(scope: Scope, kind: ScopeRetention['kind']): [number, ...string[]] {
  return kind === 'entity'
    ? [3, redisKeys.scopeSeq(scope), redisKeys.entityState(scope), redisKeys.entityLastSeen(scope)]
    : [2, redisKeys.scopeSeq(scope), redisKeys.logRecent(scope)];
}

/**
 * numkeys followed by the KEYS of publish.lua and snapshot.lua: the state
 * keys of eventScriptKeys plus the scope's history stream.
 */
export function publishScriptKeys(scope: Scope, kind: ScopeRetention['kind']): [number, ...string[]] {
  const [numKeys, ...keys] = eventScriptKeys(scope, kind);
  return [numKeys + 1, ...keys, redisKeys.scopeHistory(scope)];
}

/** The KEYS of history.lua: seq, history. */
export function historyScriptKeys(scope: Scope): [string, string] {
  return [redisKeys.scopeSeq(scope), redisKeys.scopeHistory(scope)];
}

/** The KEYS of expire.lua (entity scopes): seq, state, seen, history. */
export function expireScriptKeys(scope: Scope): [string, string, string, string] {
  return [
    redisKeys.scopeSeq(scope),
    redisKeys.entityState(scope),
    redisKeys.entityLastSeen(scope),
    redisKeys.scopeHistory(scope),
  ];
}
