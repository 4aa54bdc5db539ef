import type { EventData } from '@hydra/protocol';
import { AIRPORTS } from './airspace.js';
import { destinationPoint, type LatLon, round } from './geo.js';
import type { Prng } from './prng.js';

/** An SDR receiver of the demo network. */
interface Sensor {
  readonly id: string;
  readonly at: LatLon;
}

const SENSORS: readonly Sensor[] = [
  { id: 'sdr-ie-dub-01', at: { lat: 53.35, lon: -6.26 } },
  { id: 'sdr-gb-lon-02', at: { lat: 51.5, lon: -0.12 } },
  { id: 'sdr-nl-rtm-01', at: { lat: 51.92, lon: 4.48 } },
  { id: 'sdr-pl-gdn-02', at: { lat: 54.35, lon: 18.65 } },
  { id: 'sdr-fi-hel-01', at: { lat: 60.17, lon: 24.94 } },
  { id: 'sdr-cy-lca-01', at: { lat: 34.92, lon: 33.63 } },
  { id: 'sdr-us-nyc-03', at: { lat: 40.71, lon: -74.0 } },
  { id: 'sdr-sg-sin-01', at: { lat: 1.29, lon: 103.85 } },
];

/** Sensors near the Baltic and the eastern Mediterranean, where GNSS interference is routinely reported. */
const GNSS_SENSORS = SENSORS.filter((s) => ['sdr-pl-gdn-02', 'sdr-fi-hel-01', 'sdr-cy-lca-01'].includes(s.id));

interface Emission {
  label: string;
  /** Centre frequency (Hz): fixed channels, or a band to pick from on a raster. */
  freqHz: readonly number[] | { readonly min: number; readonly max: number; readonly step: number };
  bandwidthHz: number;
  modulation: string;
  powerDbfs: readonly [number, number];
  durationS: readonly [number, number];
  weight: number;
  gnss?: true;
}

/** SigMF-style RF captures: real channel plans, plausible power and duration. */
const EMISSIONS: readonly Emission[] = [
  {
    label: 'VHF marine voice ch16',
    freqHz: [156_800_000],
    bandwidthHz: 16_000,
    modulation: 'FM',
    powerDbfs: [-75, -30],
    durationS: [2, 25],
    weight: 12,
  },
  {
    label: 'AIS burst',
    freqHz: [161_975_000, 162_025_000],
    bandwidthHz: 25_000,
    modulation: 'GMSK',
    powerDbfs: [-80, -35],
    durationS: [0.03, 0.03],
    weight: 15,
  },
  {
    label: 'Airband voice',
    freqHz: { min: 118_000_000, max: 136_975_000, step: 8_333.33 },
    bandwidthHz: 8_330,
    modulation: 'AM',
    powerDbfs: [-85, -40],
    durationS: [1, 12],
    weight: 14,
  },
  {
    label: 'ADS-B 1090ES squitter',
    freqHz: [1_090_000_000],
    bandwidthHz: 2_600_000,
    modulation: 'PPM',
    powerDbfs: [-70, -20],
    durationS: [0.00012, 0.00012],
    weight: 10,
  },
  {
    label: 'DMR voice',
    freqHz: { min: 440_000_000, max: 470_000_000, step: 12_500 },
    bandwidthHz: 12_500,
    modulation: '4FSK',
    powerDbfs: [-90, -45],
    durationS: [1, 30],
    weight: 10,
  },
  {
    label: 'LoRa uplink',
    freqHz: [868_100_000, 868_300_000, 868_500_000],
    bandwidthHz: 125_000,
    modulation: 'LoRa',
    powerDbfs: [-110, -70],
    durationS: [0.05, 1.5],
    weight: 8,
  },
  {
    label: 'HF ALE link',
    freqHz: { min: 3_000_000, max: 29_000_000, step: 1_000 },
    bandwidthHz: 3_000,
    modulation: '8FSK',
    powerDbfs: [-95, -50],
    durationS: [5, 60],
    weight: 5,
  },
  {
    label: 'Inmarsat L-band uplink',
    freqHz: { min: 1_626_500_000, max: 1_660_500_000, step: 25_000 },
    bandwidthHz: 25_000,
    modulation: 'QPSK',
    powerDbfs: [-100, -65],
    durationS: [0.5, 10],
    weight: 5,
  },
  {
    label: 'S-band radar pulse train',
    freqHz: { min: 2_900_000_000, max: 3_100_000_000, step: 1_000_000 },
    bandwidthHz: 1_000_000,
    modulation: 'pulse',
    powerDbfs: [-60, -15],
    durationS: [2, 20],
    weight: 5,
  },
  {
    label: 'Unidentified FSK burst',
    freqHz: { min: 400_000_000, max: 470_000_000, step: 6_250 },
    bandwidthHz: 12_500,
    modulation: 'FSK',
    powerDbfs: [-95, -55],
    durationS: [0.2, 3],
    weight: 6,
  },
  {
    label: 'GNSS L1 interference (suspected jamming)',
    freqHz: [1_575_420_000],
    bandwidthHz: 10_000_000,
    modulation: 'noise',
    powerDbfs: [-60, -25],
    durationS: [30, 900],
    weight: 3,
    gnss: true,
  },
];

/** GDELT-style OSINT items: CAMEO event codes (strings: leading zeros matter) with a matching headline. */
const OSINT: ReadonlyArray<{ code: string; label: string; tone: readonly [number, number]; weight: number }> = [
  { code: '010', label: 'Port authority statement on congestion in {city}', tone: [-2, 2], weight: 10 },
  { code: '036', label: 'Officials announce talks on shipping security in {city}', tone: [0, 4], weight: 6 },
  { code: '043', label: 'Foreign delegation visits {city}', tone: [1, 5], weight: 6 },
  { code: '0311', label: 'Trade officials signal new logistics agreement in {city}', tone: [1, 6], weight: 4 },
  { code: '112', label: 'Customs officials accused of corruption in {city}', tone: [-7, -3], weight: 4 },
  { code: '141', label: 'Dock workers rally near the port of {city}', tone: [-5, -1], weight: 8 },
  { code: '145', label: 'Clashes reported during protest in {city}', tone: [-9, -4], weight: 3 },
  { code: '173', label: 'Ship crew detained by authorities in {city}', tone: [-7, -3], weight: 4 },
  { code: '0233', label: 'Appeal for humanitarian aid after storm near {city}', tone: [-6, -2], weight: 3 },
];

/** One `signals` item: an RF capture (70 %) or an OSINT report (30 %), observed just before `at`. */
export function makeSignal(rng: Prng, at: number): EventData {
  return rng.chance(0.7) ? rfSignal(rng, at) : osintSignal(rng, at);
}

function rfSignal(rng: Prng, at: number): EventData {
  const emission = rng.weighted(EMISSIONS.map((e) => [e, e.weight] as const));
  const sensor = rng.pick(emission.gnss ? GNSS_SENSORS : SENSORS);
  const durationMs = Math.max(1, Math.round(rng.range(emission.durationS[0], emission.durationS[1]) * 1000));
  // Reported after the capture ends, with a little processing latency.
  const tsEnd = Math.round(at - rng.range(200, 2_000));
  const emitter = destinationPoint(sensor.at, rng.range(0, 360), rng.range(1, emission.gnss ? 120 : 40));
  return {
    kind: 'rf',
    label: emission.label,
    ts: tsEnd - durationMs,
    tsEnd,
    confidence: rng.int(emission.gnss ? 55 : 40, 99),
    lat: round(emitter.lat, 4),
    lon: round(emitter.lon, 4),
    freqHz: pickFrequency(rng, emission.freqHz),
    bandwidthHz: emission.bandwidthHz,
    modulation: emission.modulation,
    powerDbfs: round(rng.range(emission.powerDbfs[0], emission.powerDbfs[1]), 1),
    sensorId: sensor.id,
  };
}

function osintSignal(rng: Prng, at: number): EventData {
  const item = rng.weighted(OSINT.map((o) => [o, o.weight] as const));
  const place = rng.pick(AIRPORTS);
  const ts = Math.round(at - rng.range(60_000, 30 * 60_000));
  const label = item.label.replace('{city}', place.city);
  const day = new Date(ts).toISOString().slice(0, 10).replaceAll('-', '/');
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return {
    kind: 'osint',
    label,
    ts,
    confidence: rng.int(30, 90),
    lat: round(place.lat + rng.range(-0.1, 0.1), 4),
    lon: round(place.lon + rng.range(-0.1, 0.1), 4),
    url: `https://news.example.com/${day}/${slug}-${rng.int(10_000, 99_999)}`,
    code: item.code,
    tone: round(rng.range(item.tone[0], item.tone[1]), 2),
  };
}

function pickFrequency(rng: Prng, freq: Emission['freqHz']): number {
  if (Array.isArray(freq)) return rng.pick(freq);
  const band = freq as { min: number; max: number; step: number };
  const steps = Math.floor((band.max - band.min) / band.step);
  return Math.round(band.min + rng.int(0, steps) * band.step);
}
