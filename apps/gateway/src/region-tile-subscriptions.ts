import { TILE_COUNT } from '@hydra/protocol';

/**
 * Which tiles of one entity scope have bbox clients subscribed on this
 * gateway (the hydra_region_tile_topics gauge): a client count per tile,
 * changed when a client goes live on its tiles and when it leaves them (a
 * resync, a close). Per client and tile at those moments, never per event.
 *
 * Guarantee: `topics` is the number of tiles with at least one live client,
 * provided every `add` of a client is matched by at most one `remove` (a
 * second add or remove of the same client changes nothing).
 */
export class TileSubscriptions<Client> {
  /** Clients per tile; allocated at the first client (64 KiB). */
  private counts: Uint32Array | null = null;
  private readonly live = new Set<Client>();
  private count = 0;

  constructor(private readonly changed: (topics: number) => void) {}

  /** Tiles with at least one live client. */
  get topics(): number {
    return this.count;
  }

  /** `client` subscribed to `tiles`. */
  add(client: Client, tiles: ArrayLike<number>): void {
    if (this.live.has(client)) return;
    this.live.add(client);
    this.counts ??= new Uint32Array(TILE_COUNT);
    const counts = this.counts;
    for (let i = 0; i < tiles.length; i++) if (counts[tiles[i] as number]!++ === 0) this.count++;
    this.changed(this.count);
  }

  /** `client` left `tiles` (unsubscribed, or closed): nothing when it was not live. */
  remove(client: Client, tiles: ArrayLike<number>): void {
    if (!this.live.delete(client) || this.counts === null) return;
    const counts = this.counts;
    for (let i = 0; i < tiles.length; i++) if (--counts[tiles[i] as number]! === 0) this.count--;
    this.changed(this.count);
  }
}
