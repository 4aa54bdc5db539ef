import { constants, createDeflateRaw } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bucketOf, bucketUpperBound, Histogram } from '../src/histogram.js';
import { instructionReport, parseInstructionArgs } from '../src/ingest-instructions.js';
import { parseRegionsArgs } from '../src/regions.js';
import {
  type RegionPhase,
  type RegionsRow,
  type RegionsSummary,
  regionsSummaryTable,
  summarise,
} from '../src/regions-report.js';
import { idleSummary, idleTargetLine, kneeOf } from '../src/report.js';
import type { IdleMemory, LoadPoint } from '../src/scenarios.js';
import { calm, median, ratioBeyondNoise } from '../src/stats.js';
import { barChart, groupedBarChart, lineChart } from '../src/svg.js';
import {
  countOccurrences,
  encodeClientFrame,
  FrameParser,
  MessageInflater,
  OP_BINARY,
  OP_PING,
  OP_TEXT,
  readNumberAfter,
} from '../src/ws-frame.js';

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126 && len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65536) {
    head[1] = 127;
    head.writeUInt32BE(0, 2);
    head.writeUInt32BE(len, 6);
  }
  head[0] = (fin ? 0x80 : 0) | opcode;
  return Buffer.concat([head, payload]);
}

function collect() {
  const frames: Array<[number, string]> = [];
  const parser = new FrameParser((op, p) => frames.push([op, p.toString()]));
  return { frames, parser };
}

describe('FrameParser', () => {
  it('parses several frames in one chunk and every header length', () => {
    const { frames, parser } = collect();
    const big = 'b'.repeat(300);
    const huge = 'h'.repeat(70_000);
    parser.push(
      Buffer.concat([
        serverFrame(OP_TEXT, Buffer.from('hi')),
        serverFrame(OP_PING, Buffer.from('p')),
        serverFrame(OP_TEXT, Buffer.from(big)),
        serverFrame(OP_BINARY, Buffer.from(huge)),
      ]),
    );
    expect(frames).toEqual([
      [OP_TEXT, 'hi'],
      [OP_PING, 'p'],
      [OP_TEXT, big],
      [OP_BINARY, huge],
    ]);
  });

  it('reassembles frames split at every byte boundary', () => {
    const payload = Buffer.from(`{"x":${'9'.repeat(200)}}`);
    const wire = Buffer.concat([serverFrame(OP_TEXT, payload), serverFrame(OP_TEXT, Buffer.from('next'))]);
    for (let cut = 1; cut < wire.length; cut++) {
      const { frames, parser } = collect();
      parser.push(wire.subarray(0, cut));
      parser.push(wire.subarray(cut));
      expect(frames).toEqual([
        [OP_TEXT, payload.toString()],
        [OP_TEXT, 'next'],
      ]);
    }
  });

  it('keeps no reference to a chunk after push (the client reuses one read buffer)', () => {
    const payload = Buffer.from(`{"x":"${'y'.repeat(300)}"}`);
    const wire = Buffer.concat([serverFrame(OP_TEXT, payload), serverFrame(OP_TEXT, Buffer.from('next'))]);
    for (const cut of [1, 3, 100, wire.length - 3]) {
      const { frames, parser } = collect();
      const shared = Buffer.alloc(wire.length);
      wire.copy(shared, 0, 0, cut);
      parser.push(shared.subarray(0, cut));
      shared.fill(0xff);
      wire.copy(shared, 0, cut);
      parser.push(shared.subarray(0, wire.length - cut));
      shared.fill(0xff);
      expect(frames).toEqual([
        [OP_TEXT, payload.toString()],
        [OP_TEXT, 'next'],
      ]);
    }
  });

  it('joins fragmented messages and passes control frames between fragments', () => {
    const { frames, parser } = collect();
    parser.push(serverFrame(OP_TEXT, Buffer.from('ab'), false));
    parser.push(serverFrame(OP_PING, Buffer.from('')));
    parser.push(serverFrame(0, Buffer.from('cd'), true));
    expect(frames).toEqual([
      [OP_PING, ''],
      [OP_TEXT, 'abcd'],
    ]);
  });

  it('refuses masked server frames', () => {
    const { parser } = collect();
    expect(() => parser.push(encodeClientFrame(OP_TEXT, 'x'))).toThrow(/masked/);
  });

  it('encodes masked client frames that unmask to the payload', () => {
    const f = encodeClientFrame(OP_TEXT, 'hello');
    expect(f[0]).toBe(0x81);
    expect((f[1] as number) & 0x80).toBe(0x80);
    const mask = f.subarray(2, 6);
    const body = Buffer.from(f.subarray(6).map((b, i) => b ^ (mask[i & 3] as number)));
    expect(body.toString()).toBe('hello');
  });

  it('reads numbers after keys, plain and JSON-escaped', () => {
    const plain = Buffer.from('{"zzs":2,"zzn":12345,"zzt":1700000000123456}');
    expect(readNumberAfter(plain, Buffer.from('zzn'))).toBe(12345);
    expect(readNumberAfter(plain, Buffer.from('zzt'))).toBe(1700000000123456);
    const escaped = Buffer.from('{"data":"{\\"zzn\\":77}"}');
    expect(readNumberAfter(escaped, Buffer.from('zzn'))).toBe(77);
    expect(readNumberAfter(plain, Buffer.from('nope'))).toBe(-1);
    expect(countOccurrences(Buffer.from('zzn zzn zz zzn'), Buffer.from('zzn'))).toBe(3);
  });
});

/** Messages deflated as a permessage-deflate sender with context takeover does: one stream, sync flush, tail stripped. */
async function deflateMessages(messages: string[]): Promise<Buffer[]> {
  const deflate = createDeflateRaw();
  const out: Buffer[] = [];
  for (const m of messages) {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    deflate.on('data', onData);
    deflate.write(m);
    await new Promise<void>((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    deflate.off('data', onData);
    const whole = Buffer.concat(chunks);
    out.push(whole.subarray(0, whole.length - 4));
  }
  deflate.close();
  return out;
}

describe('FrameParser and MessageInflater (permessage-deflate)', () => {
  it('reports RSV1 of a compressed frame', () => {
    const seen: boolean[] = [];
    const parser = new FrameParser((_op, _p, compressed) => seen.push(compressed));
    const compressed = serverFrame(OP_TEXT, Buffer.from('x'));
    compressed[0] = (compressed[0] as number) | 0x40;
    parser.push(Buffer.concat([compressed, serverFrame(OP_TEXT, Buffer.from('y'))]));
    expect(seen).toEqual([true, false]);
  });

  it('inflates a context-takeover stream in order, uncompressed messages kept in their place', async () => {
    const texts = Array.from({ length: 6 }, (_, i) => `{"type":"aircraft","seq":${i + 1},"data":{"id":"4ca2d1"}}`);
    const deflated = await deflateMessages(texts);
    const got: string[] = [];
    let allIn: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      allIn = resolve;
    });
    const inflater = new MessageInflater((p) => {
      got.push(p.toString());
      if (got.length === texts.length + 1) allIn();
    });
    deflated.forEach((payload, i) => {
      inflater.push(payload, true);
      if (i === 2) inflater.push(Buffer.from('{"type":"resync"}'), false);
    });
    await done; // bounded by the test timeout
    expect(got).toEqual([...texts.slice(0, 3), '{"type":"resync"}', ...texts.slice(3)]);
    inflater.close();
  });
});

describe('Histogram', () => {
  it('keeps every value within 1/16 of its bucket bound', () => {
    for (const v of [0, 1, 15, 16, 17, 100, 999, 12_345, 1_000_000, 123_456_789]) {
      const ub = bucketUpperBound(bucketOf(v));
      expect(ub).toBeGreaterThanOrEqual(v);
      expect(ub - v).toBeLessThanOrEqual(Math.max(1, v / 16));
    }
  });

  it('computes percentiles of a uniform distribution within the bucket error', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100_000; v++) h.record(v);
    for (const q of [0.5, 0.99, 0.999]) {
      const p = h.percentile(q);
      expect(Math.abs(p - q * 100_000) / (q * 100_000)).toBeLessThan(0.07);
    }
    expect(h.percentile(1)).toBe(100_000);
  });

  it('merges and round-trips through its sparse form', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 0; i < 90; i++) a.record(1000);
    for (let i = 0; i < 10; i++) b.record(50_000);
    a.merge(Histogram.fromSparse(b.toSparse()));
    expect(a.total).toBe(100);
    expect(a.percentile(0.5)).toBeLessThanOrEqual(1063);
    expect(a.percentile(0.95)).toBe(50_000);
    expect(new Histogram().percentile(0.5)).toBeNaN();
  });
});

describe('stats', () => {
  it('medians and noise-bounded ratios', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(ratioBeyondNoise(1, 4, 0.1)).toEqual({ ratio: 0.25, significant: true });
    expect(ratioBeyondNoise(1.05, 1, 0.1).significant).toBe(false);
  });

  it('calls an RSS window calm when its span is within max(1 MiB, 1.5%)', () => {
    const mb = 2 ** 20;
    expect(calm([60 * mb, 60.9 * mb, 60.5 * mb])).toBe(true);
    expect(calm([61.5 * mb, 73.5 * mb, 73.5 * mb])).toBe(false); // a V8 heap shrink inside the window
    expect(calm([150 * mb, 152 * mb])).toBe(true); // 2 MB of 151 MB
    expect(calm([150 * mb, 155 * mb])).toBe(false);
    expect(calm([Number.NaN])).toBe(false);
  });
});

describe('knee', () => {
  const point = (offered: number, loss: number, p99: number, clientBound: boolean) =>
    ({ instance: 'x', offered, loss, p99, clientBound }) as LoadPoint;

  it('is the highest clean load, marked when the failure above it was client-bound', () => {
    const pts = [point(25_000, 0, 10, false), point(75_000, 0, 40, false), point(150_000, 12, 900, true)];
    expect(kneeOf(pts, 'x')).toEqual({ load: 75_000, clientBoundAbove: true });
    const serverBound = [point(25_000, 0, 10, false), point(75_000, 5, 400, false), point(150_000, 9, 900, true)];
    expect(kneeOf(serverBound, 'x')).toEqual({ load: 25_000, clientBoundAbove: false });
  });
});

describe('idle memory summary', () => {
  const rec = (instance: string, round: number, connections: number, kb: number, slope: number, rssMb: number) =>
    ({
      target: instance.split('#')[0],
      instance,
      round,
      connections,
      open: connections,
      rssBaseMb: 50,
      rssMb,
      kbPerConnection: kb,
      kbPerConnectionMarginal: slope,
      settleMs: 25_000,
      together: 1,
      pings: 0,
      connectsPerSec: 1000,
    }) as IdleMemory;

  it('takes medians of growth / N per step and of the slope between steps', () => {
    const idle = [
      rec('sio', 1, 1000, 30, 30, 80),
      rec('sio', 1, 5000, 16, 12, 128),
      rec('hydra', 1, 1000, 7, 7, 57),
      rec('hydra', 1, 5000, 3.5, 2.6, 67),
      rec('hydra', 2, 1000, 9, 9, 59),
      rec('hydra', 2, 5000, 4.5, 2.4, 72),
    ];
    const { steps, rows } = idleSummary(idle);
    expect(steps).toEqual([1000, 5000]);
    expect(rows.map((r) => r.instance)).toEqual(['hydra', 'sio']);
    expect(rows[0]).toMatchObject({ kbPerConnection: [8, 4], slopes: [2.5], rssBaseMb: 50, rssTopMb: 69.5 });
    const line = idleTargetLine(rows, steps);
    expect(line).toContain('slope 1.0k→5.0k');
    expect(line).toContain('Hydra gateway 2.50 KB, 0.21× Socket.IO');
    expect(line).toContain('(not met)'); // 2.5 ≤ 3 KB but above 1/5 of 12
  });

  it('falls back to growth / N, and says so, with one step', () => {
    const { steps, rows } = idleSummary([rec('hydra', 1, 1000, 2, 2, 52), rec('sio', 1, 1000, 20, 20, 70)]);
    expect(rows[0]?.slopes).toEqual([]);
    const line = idleTargetLine(rows, steps);
    expect(line).toContain('one step only');
    expect(line).toContain('Hydra gateway 2.00 KB, 0.10× Socket.IO');
    expect(line).toContain('(met)');
  });
});

describe('SVG charts', () => {
  /** Minimal well-formedness check: balanced tags, quoted attributes, escaped text. */
  function assertWellFormed(xml: string): void {
    expect(xml.startsWith('<?xml')).toBe(true);
    const stack: string[] = [];
    const body = xml.replace(/^<\?xml[^>]*\?>/, '');
    for (const m of body.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
      const [, close, name, , self] = m;
      if (self) continue;
      if (close) expect(stack.pop()).toBe(name);
      else stack.push(name as string);
    }
    expect(stack).toEqual([]);
    // every '<' opens a tag the regex understood, and no bare '&'
    expect(body.match(/</g)?.length).toBe([...body.matchAll(/<\/?[a-zA-Z]+(?:\s+[\w:-]+="[^"<]*")*\s*\/?>/g)].length);
    expect(/&(?!amp;|lt;|gt;|quot;|apos;)/.test(body)).toBe(false);
  }

  it('draws one path per series and escapes names', () => {
    const svg = lineChart({
      title: 'p99 <latency> & load',
      xLabel: 'offered',
      yLabel: 'ms',
      logY: true,
      series: [
        {
          name: 'Hydra',
          points: [
            [25_000, 5],
            [75_000, 9],
            [150_000, 40],
          ],
        },
        {
          name: 'Socket.IO & "adapter"',
          points: [
            [25_000, 30],
            [75_000, 2000],
            [150_000, Number.NaN],
          ],
        },
        { name: 'bare uWS', points: [[25_000, 3]] },
      ],
    });
    assertWellFormed(svg);
    expect(svg.match(/<path /g)).toHaveLength(3);
    expect(svg).toContain('Socket.IO &amp; &quot;adapter&quot;');
  });

  it('draws one bar per server', () => {
    const svg = barChart({
      title: 'memory',
      yLabel: 'KB',
      bars: [
        { name: 'Hydra', value: 1.2 },
        { name: 'Socket.IO', value: 13.9 },
      ],
    });
    assertWellFormed(svg);
    expect(svg.match(/<rect /g)).toHaveLength(3); // background + 2 bars
  });

  it('draws grouped bars, one per legend entry, skipping missing values', () => {
    const svg = groupedBarChart({
      title: 'memory <per conn>',
      yLabel: 'KB',
      legend: ['growth / N at 15k', 'slope 5k→15k'],
      groups: [
        { name: 'Hydra', values: [3.1, 2.2] },
        { name: 'Socket.IO & adapter', values: [14, 12.5] },
        { name: 'bare uWS', values: [0.8, Number.NaN] },
      ],
    });
    assertWellFormed(svg);
    expect(svg.match(/<rect /g)).toHaveLength(1 + 2 + 5); // background + legend + bars
    expect(svg).toContain('Socket.IO &amp; adapter');
  });
});

describe('regions summary', () => {
  const row = (
    round: number,
    build: string,
    phase: RegionPhase,
    user: number,
    sys: number,
    bytes = 1000,
  ): RegionsRow => ({
    round,
    build,
    phase,
    clients: 1000,
    eventsPerSec: 200,
    bytesPerClientPerSec: bytes,
    messagesPerClientPerSec: 10,
    readsPerClientPerSec: phase === 'bbox' ? 8 : 20,
    gatewayCpuPct: 10,
    userUsPerEvent: user,
    sysUsPerEvent: sys,
    p99AgeMs: 1,
    p50AgeMs: 1,
    drops: 0,
    gatewayBytesPerClientPerSec: bytes,
    otherMessagesPerClientPerSec: 0,
    resyncs: 0,
    loadAvg: round,
  });

  it('takes ratios and differences within each round, then their medians, per build', () => {
    const rows = [
      // Round 2 ran on a busier machine: every phase costs twice; its ratios are the same.
      ...[1, 2, 3].flatMap((round) => {
        const k = round === 2 ? 2 : 1;
        return [
          row(round, 'this', 'unfiltered', 50 * k, 450 * k),
          row(round, 'this', 'bbox', 60 * k, 490 * k, 70),
          row(round, 'this', 'map-on', 55 * k, 450 * k),
        ];
      }),
      row(1, 'before', 'unfiltered', 50, 450),
      row(1, 'before', 'bbox', 100, 500, 80),
      row(1, 'before', 'map-on', 60, 450),
    ];
    const [mine, before] = summarise(rows);
    expect(mine?.build).toBe('this');
    expect(mine?.rounds).toBe(3);
    expect(mine?.cpuUs).toEqual({ unfiltered: 500, bbox: 550, 'map-on': 505 });
    expect(mine?.cpuRatio.bbox).toBeCloseTo(1.1);
    expect(mine?.cpuRatio['map-on']).toBeCloseTo(1.01);
    expect(mine?.tilePathUs).toBe(5); // rounds 1 and 3 say 5, round 2 says 10
    expect(mine?.tilePathUserUs).toBe(5);
    expect(mine?.bytesRatio).toBeCloseTo(0.07);
    expect(mine?.reads).toEqual({ unfiltered: 20, bbox: 8, 'map-on': 20 });
    expect(mine?.loadAvg).toEqual({ median: 2, min: 1, max: 3 });
    expect(before?.cpuRatio.bbox).toBeCloseTo(1.2);
    expect(before?.tilePathUs).toBe(10);
    expect(regionsSummaryTable([mine, before] as RegionsSummary[])).toContain(
      '| this | 3 | 200 | 500 (50) / 550 (60) / 505 (55) | **1.10** |',
    );
  });

  it('reads the phases and the before build from the command line', () => {
    const o = parseRegionsArgs(['--regions', '--rounds', '2', '--phases=bbox,unfiltered', '--before-dist', 'x/dist']);
    expect(o.rounds).toBe(2);
    expect(o.phases).toEqual(['unfiltered', 'bbox']);
    expect(o.beforeDist).toBe('x/dist');
    expect(() => parseRegionsArgs(['--phases', 'everything'])).toThrow(/--phases: everything/);
  });
});

describe('ingest instructions', () => {
  it('takes a whole number of batches and refuses what it does not know', () => {
    expect(parseInstructionArgs(['--ingest-instructions'])).toEqual({ events: 20_000 });
    expect(parseInstructionArgs(['--ingest-instructions', '--instruction-events', '5000'])).toEqual({ events: 5_000 });
    expect(() => parseInstructionArgs(['--instruction-events', '1500'])).toThrow(/multiple of 1000/);
    expect(() => parseInstructionArgs(['--ingest-seconds', '3'])).toThrow(/unknown argument --ingest-seconds/);
  });

  it('reports each feed with the chunked path as a ratio of the per-event one', () => {
    const report = instructionReport([
      { path: 'per-event', feed: 'aircraft', events: 10_000, instructionsPerEvent: 150_000 },
      { path: 'chunked', feed: 'aircraft', events: 10_000, instructionsPerEvent: 45_000 },
      { path: 'per-event', feed: 'alerts', events: 10_000, instructionsPerEvent: 180_000 },
      { path: 'chunked', feed: 'alerts', events: 10_000, instructionsPerEvent: 45_000 },
    ]);
    expect(report).toContain('| aircraft | 150000 | 45000 | 0.30× |');
    expect(report).toContain('| alerts | 180000 | 45000 | 0.25× |');
  });
});
