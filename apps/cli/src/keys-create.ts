import type { KeyStore } from '@hydra/backplane';
import type { KeysCreateArgs } from './args.js';
import type { CliOutput } from './output.js';

/** `hydra keys create`: the only time the plaintext key is ever shown. */
export async function keysCreate(store: KeyStore, args: KeysCreateArgs, out: CliOutput): Promise<void> {
  const { record, key } = await store.create({ scopes: args.scopes, name: args.name, ttlSeconds: args.ttlSeconds });
  const createdAt = new Date(record.createdAt).toISOString();
  const expiresAt = record.expiresAt === null ? null : new Date(record.expiresAt).toISOString();
  if (args.json) {
    out.json({ id: record.id, key, name: record.name, scopes: record.scopes, createdAt, expiresAt });
    return;
  }
  out.text(
    [
      `Created API key ${record.id}${record.name === null ? '' : ` (${record.name})`}`,
      `  scopes:   ${record.scopes.join(', ')}`,
      `  created:  ${createdAt}`,
      `  expires:  ${expiresAt ?? 'never'}`,
      '',
      `  ${key}`,
      '',
      'Copy this key now: it will not be shown again. Only its SHA-256 hash is stored,',
      `so it cannot be recovered; revoke it with "hydra keys revoke ${record.id}".`,
    ].join('\n'),
  );
}
