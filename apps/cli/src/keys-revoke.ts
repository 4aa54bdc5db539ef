import type { KeyStore } from '@hydra/backplane';
import type { KeysRevokeArgs } from './args.js';
import { CliError } from './errors.js';
import { ExitCode } from './exit-code.js';
import { keyView } from './key-view.js';
import type { CliOutput } from './output.js';

/** `hydra keys revoke <id|key>`: every gateway closes the key's live connections with 1008. */
export async function keysRevoke(store: KeyStore, args: KeysRevokeArgs, out: CliOutput): Promise<void> {
  const record = await store.revoke(args.idOrKey);
  if (record === null) {
    // Never echo the argument: it may be a plaintext key.
    throw new CliError(ExitCode.Failed, 'no such key: nothing matches that id or key');
  }
  const view = keyView(record, Date.now());
  if (args.json) {
    out.json(view);
    return;
  }
  out.text(
    `Revoked API key ${view.id}${view.name === null ? '' : ` (${view.name})`} at ${view.revokedAt}; ` +
      'its live connections are closed on every gateway.',
  );
}
