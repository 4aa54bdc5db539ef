import { TILE_COUNT } from '@hydra/protocol';

/**
 * Which tiles of one entity scope have bbox clients subscribed on this
 * gateway: a client count per tile, changed when a client goes live on its
 * tiles and when it leaves them (a resync, a close). Per client and tile at
 * those moments, never per event. RegionTracker reads it per event instead
 * of asking uWS (`clientsOf`: an array read, not a call into C++), and it
 * feeds the hydra_region_tile_topics gauge.
 *
 * Guarantee: `clientsOf(tile)` is the number of live clients subscribed to
 * the tile's topic and `topics` the number of tiles with at least one,
 * provided every `add` of a client is matched by at most one `remove` (a
 * second add or remove of the same client changes nothing) and every tile
 * topic subscription goes with an `add` (RegionCatchUp.subscribe).
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

  /** Live clients on `tile`. */
  clientsOf(tile: number): number {
    return this.counts === null ? 0 : (this.counts[tile] as number);
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
