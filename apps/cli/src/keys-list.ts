import type { KeyStore } from '@hydra/backplane';
import type { KeysListArgs } from './args.js';
import { keyView, textTable } from './key-view.js';
import type { CliOutput } from './output.js';

/** `hydra keys list`: metadata only, newest first; never a key or a hash. */
export async function keysList(store: KeyStore, args: KeysListArgs, out: CliOutput): Promise<void> {
  const now = Date.now();
  const views = (await store.list()).map((r) => keyView(r, now));
  if (args.json) {
    out.json(views);
    return;
  }
  if (views.length === 0) {
    out.text('No API keys. Create one with "hydra keys create --scopes signals,aircraft".');
    return;
  }
  out.text(
    textTable(
      ['ID', 'NAME', 'SCOPES', 'CREATED', 'EXPIRES', 'STATUS'],
      views.map((v) => [v.id, v.name ?? '-', v.scopes.join(','), v.createdAt, v.expiresAt ?? 'never', v.status]),
    ),
  );
}
