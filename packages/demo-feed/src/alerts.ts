import type { EventData } from '@hydra/protocol';
import { destinationPoint, type LatLon, round } from './geo.js';
import type { Prng } from './prng.js';

/** An alerting area: where the polygon is drawn, the local UTC offset CAP times are written in, and the code used in identifiers. */
interface Area {
  readonly code: string;
  readonly name: string;
  readonly centre: LatLon;
  readonly utcOffsetMin: number;
}

const AREAS: readonly Area[] = [
  { code: 'IE', name: 'Dublin and Wicklow', centre: { lat: 53.2, lon: -6.3 }, utcOffsetMin: 0 },
  { code: 'IE', name: 'Galway Bay coast', centre: { lat: 53.2, lon: -9.2 }, utcOffsetMin: 0 },
  { code: 'GB', name: 'Greater London', centre: { lat: 51.5, lon: -0.12 }, utcOffsetMin: 0 },
  { code: 'GB', name: 'Liverpool Bay coast', centre: { lat: 53.45, lon: -3.05 }, utcOffsetMin: 0 },
  { code: 'NL', name: 'Zuid-Holland coast', centre: { lat: 52.0, lon: 4.2 }, utcOffsetMin: 60 },
  { code: 'DE', name: 'Upper Bavaria', centre: { lat: 48.1, lon: 11.6 }, utcOffsetMin: 60 },
  { code: 'ES', name: 'Barcelona and Maresme', centre: { lat: 41.45, lon: 2.2 }, utcOffsetMin: 60 },
  { code: 'GR', name: 'Attica', centre: { lat: 38.0, lon: 23.7 }, utcOffsetMin: 120 },
  { code: 'US', name: 'Boston Harbor and Massachusetts Bay', centre: { lat: 42.35, lon: -70.8 }, utcOffsetMin: -300 },
  { code: 'US', name: 'Miami-Dade County', centre: { lat: 25.6, lon: -80.5 }, utcOffsetMin: -300 },
  { code: 'US', name: 'Los Angeles County', centre: { lat: 34.05, lon: -118.25 }, utcOffsetMin: -480 },
  { code: 'JP', name: 'Tokyo Bay', centre: { lat: 35.45, lon: 139.85 }, utcOffsetMin: 540 },
  { code: 'SG', name: 'Singapore Strait', centre: { lat: 1.22, lon: 103.85 }, utcOffsetMin: 480 },
];

type W<T> = ReadonlyArray<readonly [T, number]>;

interface Template {
  category: string;
  event: string;
  sender: string;
  weight: number;
  severity: W<string>;
  urgency: W<string>;
  certainty: W<string>;
  radiusKm: readonly [number, number];
  hours: readonly [number, number];
  description: string;
  instruction: string;
}

const MET = 'weather@alerts.example.org';
const CIVIL = 'civil-protection@alerts.example.org';

/** CAP 1.2 `category` / `event` pairs with plausible severity, urgency and certainty mixes. */
const TEMPLATES: readonly Template[] = [
  {
    category: 'Met',
    event: 'Wind',
    sender: MET,
    weight: 16,
    severity: [
      ['Moderate', 6],
      ['Severe', 3],
      ['Extreme', 1],
    ],
    urgency: [
      ['Expected', 6],
      ['Immediate', 3],
      ['Future', 1],
    ],
    certainty: [
      ['Likely', 6],
      ['Observed', 2],
      ['Possible', 2],
    ],
    radiusKm: [40, 90],
    hours: [6, 24],
    description: 'Southwesterly winds gusting 90 to 110 km/h, locally higher on exposed coasts.',
    instruction: 'Secure loose objects. Avoid coastal paths and piers.',
  },
  {
    category: 'Met',
    event: 'Thunderstorm',
    sender: MET,
    weight: 12,
    severity: [
      ['Moderate', 7],
      ['Severe', 3],
    ],
    urgency: [
      ['Immediate', 5],
      ['Expected', 5],
    ],
    certainty: [
      ['Likely', 5],
      ['Possible', 5],
    ],
    radiusKm: [15, 50],
    hours: [2, 8],
    description: 'Thunderstorms with hail, frequent lightning and rainfall of 25 mm in an hour.',
    instruction: 'Stay indoors and unplug sensitive appliances.',
  },
  {
    category: 'Met',
    event: 'Coastal flood',
    sender: MET,
    weight: 8,
    severity: [
      ['Moderate', 5],
      ['Severe', 4],
      ['Extreme', 1],
    ],
    urgency: [
      ['Expected', 7],
      ['Immediate', 3],
    ],
    certainty: [
      ['Likely', 7],
      ['Possible', 3],
    ],
    radiusKm: [20, 60],
    hours: [4, 18],
    description: 'High spring tides and onshore winds may cause wave overtopping and coastal flooding.',
    instruction: 'Keep away from sea fronts; move vehicles from low-lying car parks.',
  },
  {
    category: 'Met',
    event: 'Fog',
    sender: MET,
    weight: 8,
    severity: [
      ['Minor', 7],
      ['Moderate', 3],
    ],
    urgency: [
      ['Expected', 6],
      ['Immediate', 4],
    ],
    certainty: [
      ['Likely', 6],
      ['Observed', 4],
    ],
    radiusKm: [20, 70],
    hours: [3, 10],
    description: 'Dense fog with visibility below 100 m in places.',
    instruction: 'Drive with dipped headlights and allow extra time.',
  },
  {
    category: 'Transport',
    event: 'Navigational warning',
    sender: 'coastguard@alerts.example.net',
    weight: 10,
    severity: [
      ['Minor', 6],
      ['Moderate', 4],
    ],
    urgency: [
      ['Immediate', 4],
      ['Expected', 6],
    ],
    certainty: [
      ['Observed', 7],
      ['Likely', 3],
    ],
    radiusKm: [5, 25],
    hours: [12, 72],
    description: 'Drifting container reported in the approach channel. Unlit buoy off station.',
    instruction: 'Vessels are to keep a sharp lookout and give the area a wide berth.',
  },
  {
    category: 'Transport',
    event: 'Airspace restriction',
    sender: 'aviation@alerts.example.net',
    weight: 6,
    severity: [
      ['Minor', 7],
      ['Moderate', 3],
    ],
    urgency: [
      ['Expected', 7],
      ['Future', 3],
    ],
    certainty: [
      ['Observed', 8],
      ['Likely', 2],
    ],
    radiusKm: [5, 20],
    hours: [2, 12],
    description: 'Temporary restricted area up to FL100 for a state visit.',
    instruction: 'Pilots must obtain clearance before entering the area.',
  },
  {
    category: 'Geo',
    event: 'Earthquake',
    sender: 'seismic@alerts.example.net',
    weight: 4,
    severity: [
      ['Minor', 6],
      ['Moderate', 3],
      ['Severe', 1],
    ],
    urgency: [
      ['Past', 6],
      ['Immediate', 4],
    ],
    certainty: [['Observed', 10]],
    radiusKm: [30, 90],
    hours: [2, 6],
    description: 'A magnitude 4.6 earthquake was recorded at a depth of 12 km. Aftershocks are possible.',
    instruction: 'Check for damage; expect aftershocks.',
  },
  {
    category: 'Fire',
    event: 'Wildfire',
    sender: CIVIL,
    weight: 6,
    severity: [
      ['Moderate', 4],
      ['Severe', 5],
      ['Extreme', 1],
    ],
    urgency: [
      ['Immediate', 7],
      ['Expected', 3],
    ],
    certainty: [
      ['Observed', 7],
      ['Likely', 3],
    ],
    radiusKm: [8, 30],
    hours: [6, 24],
    description: 'A wildfire is spreading north-east driven by strong winds.',
    instruction: 'Follow the instructions of the emergency services; prepare to evacuate.',
  },
  {
    category: 'Health',
    event: 'Heat',
    sender: CIVIL,
    weight: 5,
    severity: [
      ['Moderate', 6],
      ['Severe', 4],
    ],
    urgency: [
      ['Expected', 7],
      ['Future', 3],
    ],
    certainty: [
      ['Likely', 8],
      ['Possible', 2],
    ],
    radiusKm: [40, 90],
    hours: [24, 72],
    description: 'Daytime temperatures of 36 to 39 °C and warm nights.',
    instruction: 'Drink water, avoid the midday sun and check on vulnerable neighbours.',
  },
  {
    category: 'Infra',
    event: 'Power outage',
    sender: CIVIL,
    weight: 5,
    severity: [
      ['Minor', 5],
      ['Moderate', 5],
    ],
    urgency: [
      ['Immediate', 8],
      ['Expected', 2],
    ],
    certainty: [['Observed', 10]],
    radiusKm: [5, 25],
    hours: [2, 12],
    description: 'A substation fault has cut power to about 40 000 customers.',
    instruction: 'Report downed lines. Do not approach fallen cables.',
  },
  {
    category: 'Env',
    event: 'Air quality',
    sender: CIVIL,
    weight: 4,
    severity: [
      ['Minor', 6],
      ['Moderate', 4],
    ],
    urgency: [['Expected', 10]],
    certainty: [['Likely', 10]],
    radiusKm: [20, 60],
    hours: [12, 48],
    description: 'High levels of fine particulate matter (PM2.5) are forecast.',
    instruction: 'People with heart or lung conditions should reduce strenuous outdoor activity.',
  },
  {
    category: 'Safety',
    event: 'Hazardous materials',
    sender: CIVIL,
    weight: 3,
    severity: [
      ['Moderate', 5],
      ['Severe', 5],
    ],
    urgency: [['Immediate', 10]],
    certainty: [['Observed', 10]],
    radiusKm: [2, 8],
    hours: [2, 6],
    description: 'A chemical leak at an industrial site has produced a smoke plume.',
    instruction: 'Stay indoors with windows and doors closed.',
  },
  {
    category: 'Rescue',
    event: 'Search and rescue',
    sender: 'coastguard@alerts.example.net',
    weight: 3,
    severity: [['Moderate', 10]],
    urgency: [['Immediate', 10]],
    certainty: [['Observed', 10]],
    radiusKm: [5, 20],
    hours: [2, 8],
    description: 'A search is under way for a person in the water. Several units are on scene.',
    instruction: 'Vessels in the area are requested to keep a lookout and report sightings on VHF channel 16.',
  },
  {
    category: 'Security',
    event: 'Civil unrest',
    sender: CIVIL,
    weight: 2,
    severity: [
      ['Minor', 5],
      ['Moderate', 5],
    ],
    urgency: [
      ['Expected', 6],
      ['Immediate', 4],
    ],
    certainty: [
      ['Likely', 6],
      ['Possible', 4],
    ],
    radiusKm: [2, 6],
    hours: [3, 12],
    description: 'Large demonstrations are expected; road closures and disruption to public transport.',
    instruction: 'Avoid the area and follow police instructions.',
  },
];

interface Issued {
  readonly template: Template;
  readonly area: Area;
  readonly reference: string;
  readonly geometry: EventData;
}

/**
 * Issues CAP 1.2 alerts. Keeps the last few alerts it issued so that
 * `Update` and `Cancel` messages can reference them (CAP `references`:
 * "sender,identifier,sent" triplets).
 */
export class AlertIssuer {
  readonly #recent: Issued[] = [];
  #counter = 0;

  next(rng: Prng, at: number): EventData {
    const previous = this.#recent.length > 0 && rng.chance(0.2) ? rng.pick(this.#recent) : undefined;
    const msgType = previous === undefined ? 'Alert' : rng.chance(0.75) ? 'Update' : 'Cancel';
    const template = previous?.template ?? rng.weighted(TEMPLATES.map((t) => [t, t.weight] as const));
    const area = previous?.area ?? rng.pick(AREAS);
    const geometry = previous?.geometry ?? polygonAround(rng, area.centre, rng.range(...template.radiusKm));

    this.#counter++;
    const sent = capDateTime(at, area.utcOffsetMin);
    const identifier = `${area.code}-${compactUtc(at)}-${String(this.#counter).padStart(5, '0')}`;
    const severity = msgType === 'Cancel' ? 'Minor' : rng.weighted(template.severity);
    const status = rng.weighted([
      ['Actual', 95],
      ['Exercise', 3],
      ['Test', 2],
    ] as const);
    const headline = alertHeadline(template.event, area.name, msgType === 'Cancel' ? null : severity);

    const data: EventData = {
      id: identifier,
      identifier,
      sender: template.sender,
      sent,
      status,
      msgType,
      category: template.category,
      event: template.event,
      urgency: msgType === 'Cancel' ? 'Past' : rng.weighted(template.urgency),
      severity,
      certainty: rng.weighted(template.certainty),
      headline,
      description: msgType === 'Cancel' ? 'The warning is no longer in effect.' : template.description,
      instruction: template.instruction,
      expires: capDateTime(at + rng.range(...template.hours) * 3_600_000, area.utcOffsetMin),
      areaDesc: area.name,
      geometry,
    };
    if (previous !== undefined) data['references'] = previous.reference;

    this.#recent.push({ template, area, geometry, reference: `${template.sender},${identifier},${sent}` });
    if (this.#recent.length > 20) this.#recent.shift();
    return data;
  }
}

/**
 * "Moderate wind warning for Attica"; with a null severity (a Cancel),
 * "Wind warning for Attica cancelled".
 * An event that already names a warning ("Navigational warning") is not
 * given a second one.
 */
export function alertHeadline(event: string, areaName: string, severity: string | null): string {
  const warning = /\bwarning$/i.test(event) ? event : `${event} warning`;
  return severity === null
    ? `${warning} for ${areaName} cancelled`
    : `${severity} ${warning.toLowerCase()} for ${areaName}`;
}

/**
 * A GeoJSON Polygon of 6–9 vertices around `centre`: `[lon, lat]` positions,
 * exterior ring counter-clockwise and closed (RFC 7946).
 */
export function polygonAround(rng: Prng, centre: LatLon, radiusKm: number): EventData {
  const vertices = rng.int(6, 9);
  const ring: number[][] = [];
  for (let i = 0; i < vertices; i++) {
    // Angles grow counter-clockwise from east; a bearing is clockwise from north.
    const angle = (360 / vertices) * (i + rng.range(-0.3, 0.3));
    const point = destinationPoint(centre, 90 - angle, (radiusKm * rng.range(0.7, 1)) / 1.852);
    ring.push([round(point.lon, 4), round(point.lat, 4)]);
  }
  ring.push([...ring[0]!]);
  return { type: 'Polygon', coordinates: [ring] };
}

/** CAP 1.2 dateTime: local time with its offset, no fractional seconds, UTC written "-00:00" as CAP requires. */
export function capDateTime(ms: number, utcOffsetMin: number): string {
  const local = new Date(Math.floor(ms / 1000) * 1000 + utcOffsetMin * 60_000).toISOString().slice(0, 19);
  if (utcOffsetMin === 0) return `${local}-00:00`;
  const sign = utcOffsetMin > 0 ? '+' : '-';
  const abs = Math.abs(utcOffsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function compactUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace(/[-:]/g, '');
}
