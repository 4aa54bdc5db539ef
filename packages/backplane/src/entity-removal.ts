import type { EntityRemovalReason } from '@hydra/protocol';

/**
 * The `data` JSON of an entity removal event, byte for byte what publish.lua
 * and expire.lua build: `{"id":<id>,"removed":true,"reason":"<reason>"}`
 * with the id encoded as Redis' cjson.encode does (JSON.stringify, plus `/`
 * as `\/` and DEL as `\u007f`; a lone surrogate becomes U+FFFD, as it does on
 * its way to Redis as UTF-8). So a removal frame has the same bytes on every
 * backplane.
 */
export function encodeRemovalData(id: string, reason: EntityRemovalReason): string {
  return `{"id":${cjsonString(id)},"removed":true,"reason":"${reason}"}`;
}

function cjsonString(text: string): string {
  const wellFormed = Buffer.from(text, 'utf8').toString('utf8');
  return JSON.stringify(wellFormed).replaceAll('/', '\\/').replaceAll('\u007f', '\\u007f');
}
