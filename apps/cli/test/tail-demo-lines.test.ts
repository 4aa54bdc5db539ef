import { DemoWorld } from '@hydra/demo-feed';
import { describe, expect, it } from 'vitest';
import { summarizeEvent } from '../src/tail/index.js';

/** `hydra tail` on the demo feed (`pnpm start`): every event it shows gets a readable line. */
describe('tail lines of the demo world', () => {
  it('every event of ten simulated minutes has a readable tail line', () => {
    const world = new DemoWorld({ seed: 2025 });
    const found: string[] = [];
    const check = (ok: boolean, rule: string, item: unknown) => {
      if (!ok && found.length < 10) found.push(`${rule}: ${JSON.stringify(item).slice(0, 300)}`);
    };
    for (let second = 0; second < 600; second++) {
      for (const event of world.tick(1000)) {
        const line = summarizeEvent(event.scope, event.data);
        check(line.length > 5, 'non-empty', event);
        if (event.scope === 'aircraft')
          check(line.startsWith(event.data['icao24'] as string), 'starts with icao24', line);
        if (event.scope === 'vessels') check(line.startsWith(event.data['mmsi'] as string), 'starts with mmsi', line);
      }
    }
    expect(found).toEqual([]);
  });
});
