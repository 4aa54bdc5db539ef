import type { EventData } from '@hydra/protocol';
import { cvss31 } from './cvss.js';
import type { Prng } from './prng.js';

/** Fictional products (the usual documentation names), so no demo CVE describes real software. */
const PRODUCTS = [
  'Contoso VPN Gateway',
  'Fabrikam Mail Server',
  'Northwind ERP',
  'Woodgrove Online Banking',
  'Tailspin Flight Ops',
  'Adventure Works Storefront',
  'Litware SCADA HMI',
  'Proseware Identity Provider',
];

const WEAKNESSES: ReadonlyArray<{ text: string; vector: string }> = [
  { text: 'An SQL injection in the search endpoint', vector: 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N' },
  { text: 'A path traversal in the file download handler', vector: 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N' },
  { text: 'A deserialization flaw in the session manager', vector: 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
  { text: 'A stored cross-site scripting flaw in the admin console', vector: 'AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N' },
  { text: 'A reflected cross-site scripting flaw in the login page', vector: 'AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N' },
  { text: 'An authentication bypass in the management API', vector: 'AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H' },
  { text: 'A heap buffer overflow in the packet parser', vector: 'AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H' },
  { text: 'A privilege escalation in the update service', vector: 'AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H' },
  { text: 'A denial of service in the TLS handshake', vector: 'AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' },
  { text: 'An information disclosure in debug logging', vector: 'AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N' },
];

const FAMILIES = ['Cobalt Strike', 'Sliver', 'QakBot', 'AsyncRAT', 'Havoc', 'Lumma Stealer', 'IcedID'];
const BRANDS = ['contoso', 'fabrikam', 'woodgrove', 'northwind'];

type IocType = 'ip-dst' | 'ip-src' | 'domain' | 'url' | 'sha256';

interface IndicatorTemplate {
  iocType: IocType;
  name: (ctx: { family: string; brand: string; cve: string | undefined }) => string;
  indicatorTypes: readonly string[];
  phase: string | undefined;
  withCve: boolean;
  weight: number;
}

/** STIX 2.1 indicator-type-ov values, MITRE ATT&CK tactic names as kill chain phases. */
const INDICATORS: readonly IndicatorTemplate[] = [
  {
    iocType: 'ip-dst',
    name: ({ family }) => `${family} command and control server`,
    indicatorTypes: ['malicious-activity'],
    phase: 'command-and-control',
    withCve: false,
    weight: 8,
  },
  {
    iocType: 'ip-src',
    name: ({ cve }) => `Host scanning for ${cve}`,
    indicatorTypes: ['malicious-activity'],
    phase: 'reconnaissance',
    withCve: true,
    weight: 6,
  },
  {
    iocType: 'ip-src',
    name: () => 'Tor exit node',
    indicatorTypes: ['anonymization'],
    phase: undefined,
    withCve: false,
    weight: 3,
  },
  {
    iocType: 'domain',
    name: ({ brand }) => `Phishing domain impersonating ${brand} sign-in`,
    indicatorTypes: ['malicious-activity'],
    phase: 'initial-access',
    withCve: false,
    weight: 7,
  },
  {
    iocType: 'url',
    name: ({ family }) => `${family} payload download URL`,
    indicatorTypes: ['malicious-activity'],
    phase: 'initial-access',
    withCve: false,
    weight: 5,
  },
  {
    iocType: 'sha256',
    name: ({ family }) => `${family} sample`,
    indicatorTypes: ['malicious-activity'],
    phase: 'execution',
    withCve: false,
    weight: 6,
  },
  {
    iocType: 'sha256',
    name: ({ cve }) => `Exploit for ${cve}`,
    indicatorTypes: ['malicious-activity'],
    phase: 'initial-access',
    withCve: true,
    weight: 2,
  },
];

/**
 * Issues STIX 2.1 objects (indicators 70 %, vulnerabilities 30 %) with the
 * flat fields of the `cyber` scope. Vulnerabilities it published are
 * remembered so that later indicators can refer to their CVE.
 */
export class CyberIssuer {
  readonly #identity: string;
  readonly #cves: string[] = [];

  constructor(rng: Prng) {
    this.#identity = `identity--${rng.uuid()}`;
  }

  next(rng: Prng, at: number): EventData {
    return rng.chance(0.7) ? this.#indicator(rng, at) : this.#vulnerability(rng, at);
  }

  #vulnerability(rng: Prng, at: number): EventData {
    const year = new Date(at).getUTCFullYear();
    const cve = `CVE-${year}-${rng.int(20_000, 59_999)}`;
    const weakness = rng.pick(WEAKNESSES);
    const product = rng.pick(PRODUCTS);
    const version = `${rng.int(1, 12)}.${rng.int(0, 9)}.${rng.int(0, 20)}`;
    const cvss = cvss31(`CVSS:3.1/${weakness.vector}`);
    const created = new Date(at).toISOString();
    const id = `vulnerability--${rng.uuid()}`;
    this.#cves.push(cve);
    if (this.#cves.length > 50) this.#cves.shift();
    return {
      id,
      kind: 'vulnerability',
      cveIds: [cve],
      cvss,
      stix: {
        type: 'vulnerability',
        spec_version: '2.1',
        id,
        created_by_ref: this.#identity,
        created,
        modified: created,
        name: cve,
        description: `${weakness.text} of ${product} before ${version} allows an attacker to compromise the system.`,
        external_references: [{ source_name: 'cve', external_id: cve, url: `https://www.cve.org/CVERecord?id=${cve}` }],
      },
    };
  }

  #indicator(rng: Prng, at: number): EventData {
    const template = rng.weighted(INDICATORS.map((t) => [t, t.weight] as const));
    const cve = template.withCve ? (this.#cves.length > 0 ? rng.pick(this.#cves) : undefined) : undefined;
    const useTemplate = template.withCve && cve === undefined ? INDICATORS[0]! : template;
    const family = rng.pick(FAMILIES);
    const brand = rng.pick(BRANDS);
    const { value, pattern } = observable(rng, useTemplate.iocType, brand);
    const created = new Date(at).toISOString();
    const validDays = useTemplate.iocType === 'sha256' ? 365 : useTemplate.iocType === 'ip-src' ? 14 : 30;
    const confidence = rng.int(40, 95);
    const id = `indicator--${rng.uuid()}`;
    const stix: EventData = {
      type: 'indicator',
      spec_version: '2.1',
      id,
      created_by_ref: this.#identity,
      created,
      modified: created,
      name: useTemplate.name({ family, brand: capitalise(brand), cve }),
      indicator_types: [...useTemplate.indicatorTypes],
      pattern,
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: created,
      valid_until: new Date(at + validDays * 86_400_000).toISOString(),
      confidence,
    };
    if (useTemplate.phase !== undefined) {
      stix['kill_chain_phases'] = [{ kill_chain_name: 'mitre-attack', phase_name: useTemplate.phase }];
    }
    const data: EventData = {
      id,
      kind: 'indicator',
      confidence,
      indicatorTypes: [...useTemplate.indicatorTypes],
      iocType: useTemplate.iocType,
      value,
      stix,
    };
    if (cve !== undefined && useTemplate === template) data['cveIds'] = [cve];
    return data;
  }
}

/** A value from the documentation address ranges and reserved names (RFC 5737, RFC 2606), with its STIX pattern. */
function observable(rng: Prng, iocType: IocType, brand: string): { value: string; pattern: string } {
  switch (iocType) {
    case 'ip-dst':
    case 'ip-src': {
      const value = `${rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${rng.int(1, 254)}`;
      return { value, pattern: `[ipv4-addr:value = '${value}']` };
    }
    case 'domain': {
      const value = `${brand}-${rng.pick(['login', 'secure', 'verify', 'account'])}-${rng.int(10, 999)}.example`;
      return { value, pattern: `[domain-name:value = '${value}']` };
    }
    case 'url': {
      const host = `cdn-${rng.hex(6)}.example.net`;
      const value = `http://${host}/${rng.pick(['update', 'files', 'dl'])}/${rng.hex(8)}.${rng.pick(['bin', 'zip', 'msi'])}`;
      return { value, pattern: `[url:value = '${value}']` };
    }
    case 'sha256': {
      const value = rng.hex(64);
      return { value, pattern: `[file:hashes.'SHA-256' = '${value}']` };
    }
  }
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
