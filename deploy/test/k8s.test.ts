/**
 * deploy/k8s checked offline: every manifest validates against the Kubernetes
 * schemas (kubernetes-models, @kubernetes-models/prometheus-operator) and
 * type-checks against their interfaces with no unknown field (k8s-strict.ts),
 * each kustomization builds (files exist, patches apply), and the
 * gateway's probes, ports, drain timing and hardening match the contract.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../apps/gateway/src/config.js';
import { parsePublisherConfig } from '../../apps/publisher/src/config.js';
import { buildKustomization, type K8sObject, typeCheckManifests } from './k8s-strict.js';
import {
  CONTRACT,
  FALLBACK_SWITCHES,
  filesUnder,
  GATEWAY_ENV,
  hydraNamesIn,
  KNOWN_ENV,
  loadYamlDocuments,
  PUBLISHER_ENV,
  readText,
  repoPath,
  skipWithout,
} from './support.js';

type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked structurally below
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

const K8S = 'deploy/k8s';
const manifestFiles = filesUnder(K8S, (n) => /\.ya?ml$/.test(n) && !/^kustomization\.ya?ml$/.test(n));
const kustomizationFiles = filesUnder(K8S, (n) => /^kustomization\.ya?ml$/.test(n));
const manifests: (Manifest & { file: string })[] = manifestFiles.flatMap((file) =>
  loadYamlDocuments(readText(file)).map((doc) => ({ ...(doc as Manifest), file })),
);

const validators: Record<string, (obj: Manifest) => void> = {
  'v1/Namespace': (o) => new Namespace(o as never).validate(),
  'v1/ConfigMap': (o) => new ConfigMap(o as never).validate(),
  'v1/Secret': (o) => new Secret(o as never).validate(),
  'v1/Service': (o) => new Service(o as never).validate(),
  'apps/v1/Deployment': (o) => new Deployment(o as never).validate(),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never).validate(),
  'autoscaling/v2/HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o as never).validate(),
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => new ServiceMonitor(o as never).validate(),
};

function find(kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} under ${K8S}`);
  return found;
}

const gatewayConfig = find('ConfigMap', 'hydra-gateway-config').data ?? {};
const publisherConfig = find('ConfigMap', 'hydra-publisher-config').data ?? {};
const secret = find('Secret', 'hydra-secrets');
const secretKeys = Object.keys({ ...secret.data, ...secret.stringData });

const podSpec = (deployment: Manifest): IPodSpec => deployment.spec.template.spec;
const container = (deployment: Manifest): IContainer => {
  const containers = podSpec(deployment).containers;
  expect(containers).toHaveLength(1);
  return containers[0]!;
};
/** A probe's or Service's port (a name or a number) as the container port number. */
function portNumber(c: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}
/** The env a container gets: ConfigMaps by envFrom, plus its explicit env names. */
function containerEnv(c: IContainer): { values: Record<string, string>; names: string[] } {
  const values: Record<string, string> = {};
  for (const source of c.envFrom ?? []) {
    expect(source.configMapRef?.name, 'envFrom takes ConfigMaps only (secrets by key)').toBeDefined();
    Object.assign(values, find('ConfigMap', source.configMapRef!.name!).data);
  }
  for (const e of c.env ?? []) if (e.value !== undefined) values[e.name] = e.value;
  return { values, names: [...Object.keys(values), ...(c.env ?? []).map((e) => e.name)] };
}
const preStopSleepSeconds = (c: IContainer): number => {
  const command = c.lifecycle?.preStop?.exec?.command ?? [];
  expect(command[0]).toBe('sleep');
  return Number(command[1]);
};

const gateway = find('Deployment', 'hydra-gateway');
const publisher = find('Deployment', 'hydra-publisher');

describe('deploy/k8s manifests', () => {
  it('has manifests and kustomizations', () => {
    expect(manifestFiles.length).toBeGreaterThan(5);
    expect(kustomizationFiles).toEqual([
      'deploy/k8s/base/kustomization.yaml',
      'deploy/k8s/prometheus-operator/kustomization.yaml',
      'deploy/k8s/redis-cluster/kustomization.yaml',
      'deploy/k8s/redis-sentinel/kustomization.yaml',
    ]);
  });

  it.each(
    manifests.map((m) => [`${m.kind} ${m.metadata.name} (${m.file})`, m] as const),
  )('%s validates', (_label, manifest) => {
    expect(manifest.metadata?.name).toBeTruthy();
    const validate = validators[`${manifest.apiVersion}/${manifest.kind}`];
    expect(validate, `no schema for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
    validate!(manifest);
  });

  it('has no unknown or mistyped field anywhere (kubernetes-models interfaces, excess-property checks)', () => {
    const problems = typeCheckManifests(
      manifests.map(({ file, ...object }) => ({ label: `${object.kind} ${object.metadata.name} (${file})`, object })),
    );
    expect(problems).toEqual([]);
  });

  it('builds each kustomization: every referenced file exists, patches apply, each manifest listed once', () => {
    const listed: string[] = [];
    const built: { label: string; object: K8sObject }[] = [];
    for (const file of kustomizationFiles) {
      const { objects, files } = buildKustomization(dirname(file));
      expect(objects.length, file).toBeGreaterThan(0);
      for (const o of objects) expect(o.metadata.namespace ?? 'hydra', `${o.kind} ${o.metadata.name}`).toBe('hydra');
      built.push(...objects.map((object) => ({ label: `${file}: ${object.kind} ${object.metadata.name}`, object })));
      // Files this kustomization lists itself (an overlay reaches the base's through the base).
      listed.push(...files.filter((f) => dirname(f) === dirname(file) && f !== file));
    }
    // One compiler run for every build (the type check is the slow part: one per kustomization timed out under load).
    expect(typeCheckManifests(built)).toEqual([]);
    expect([...new Set(listed)].sort()).toEqual(manifestFiles);
    expect(listed.length, 'a manifest listed by two kustomizations directly').toBe(new Set(listed).size);
  });

  it('sets only known HYDRA_* variables, each on the process that reads it, and no fallback switch', () => {
    for (const file of manifestFiles) {
      for (const name of hydraNamesIn(readText(file))) {
        expect(KNOWN_ENV.has(name) || FALLBACK_SWITCHES.includes(name), `${file}: unknown ${name}`).toBe(true);
      }
    }
    for (const [deployment, allowed] of [
      [gateway, GATEWAY_ENV],
      [publisher, PUBLISHER_ENV],
    ] as const) {
      for (const name of containerEnv(container(deployment)).names) {
        expect(FALLBACK_SWITCHES, `${deployment.metadata.name} sets ${name}`).not.toContain(name);
        expect(allowed.has(name), `${deployment.metadata.name}: ${name} is not its variable`).toBe(true);
      }
    }
  });

  it('takes secrets by key from the Secret, which holds the Redis URL and ingest token', () => {
    expect(secretKeys.sort()).toEqual(['HYDRA_INGEST_TOKEN', 'HYDRA_REDIS_URL']);
    for (const deployment of [gateway, publisher]) {
      for (const e of container(deployment).env ?? []) {
        if (!e.valueFrom) continue;
        expect(e.valueFrom.secretKeyRef?.name).toBe('hydra-secrets');
        expect(secretKeys).toContain(e.valueFrom.secretKeyRef?.key);
      }
    }
    const gatewayEnv = (container(gateway).env ?? []).map((e) => e.name);
    expect(gatewayEnv).toContain('HYDRA_REDIS_URL');
    expect(gatewayEnv, 'the ingest token is the publisher’s only').not.toContain('HYDRA_INGEST_TOKEN');
    expect((container(publisher).env ?? []).map((e) => e.name).sort()).toEqual([
      'HYDRA_INGEST_TOKEN',
      'HYDRA_REDIS_URL',
    ]);
  });
});

describe('gateway Deployment', () => {
  const c = container(gateway);
  const env = containerEnv(c).values;

  it('runs the gateway process with three replicas', () => {
    expect(gateway.spec.replicas).toBe(3);
    expect(c.args ?? c.command).toEqual(['node', CONTRACT.gatewayMain]);
    expect(c.command, 'keep the image entrypoint (tini) in front of node').toBeUndefined();
  });

  it('exposes the WebSocket and admin ports the config names', () => {
    expect(Number(env['HYDRA_PORT'])).toBe(CONTRACT.port);
    expect(Number(env['HYDRA_ADMIN_PORT'])).toBe(CONTRACT.adminPort);
    expect(portNumber(c, 'ws')).toBe(CONTRACT.port);
    expect(portNumber(c, 'admin')).toBe(CONTRACT.adminPort);
  });

  it('probes readiness at /readyz and liveness at /healthz on the admin port', () => {
    expect(c.readinessProbe?.httpGet?.path).toBe(CONTRACT.readyPath);
    expect(portNumber(c, c.readinessProbe?.httpGet?.port)).toBe(CONTRACT.adminPort);
    expect(c.livenessProbe?.httpGet?.path).toBe(CONTRACT.livePath);
    expect(portNumber(c, c.livenessProbe?.httpGet?.port)).toBe(CONTRACT.adminPort);
  });

  it('gives preStop plus the drain window a margin inside terminationGracePeriodSeconds', () => {
    const preStop = preStopSleepSeconds(c);
    const drainSeconds = Number(env['HYDRA_DRAIN_MS'] ?? CONTRACT.drainMs) / 1000;
    expect(preStop).toBeGreaterThanOrEqual(2);
    const grace = podSpec(gateway).terminationGracePeriodSeconds ?? 30;
    expect(grace).toBeGreaterThan(preStop + drainSeconds);
    expect(grace - preStop - drainSeconds, 'at least 5 s for the last closes and exit').toBeGreaterThanOrEqual(5);
  });

  it('rolls out without losing capacity', () => {
    expect(gateway.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(gateway.spec.strategy.rollingUpdate.maxSurge).toBeGreaterThanOrEqual(1);
  });

  it('requests and limits resources', () => {
    for (const kind of ['requests', 'limits'] as const) {
      expect(c.resources?.[kind]?.['cpu'], kind).toBeDefined();
      expect(c.resources?.[kind]?.['memory'], kind).toBeDefined();
    }
  });

  it('prefers one replica per node', () => {
    const terms = podSpec(gateway).affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(terms.length).toBeGreaterThan(0);
    expect(terms[0]!.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(terms[0]!.podAffinityTerm.labelSelector?.matchLabels).toEqual(gateway.spec.selector.matchLabels);
  });

  it('runs as non-root on a read-only root filesystem', () => {
    for (const deployment of [gateway, publisher]) {
      const spec = podSpec(deployment);
      const cc = container(deployment);
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      expect(spec.securityContext?.runAsUser).not.toBe(0);
      expect(cc.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(cc.securityContext?.allowPrivilegeEscalation).toBe(false);
    }
  });

  it('carries prometheus.io scrape annotations for the admin port', () => {
    const annotations = gateway.spec.template.metadata.annotations;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(CONTRACT.adminPort);
    expect(annotations['prometheus.io/path']).toBe(CONTRACT.metricsPath);
  });

  it('does not trust any proxy by default', () => {
    expect(env['HYDRA_TRUSTED_PROXIES'] ?? '').not.toMatch(/0\.0\.0\.0\/0/);
  });
});

describe('Services, PDB, HPA, ServiceMonitor', () => {
  const podLabels = (d: Manifest): Record<string, string> => d.spec.template.metadata.labels;
  const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);
  const services = manifests.filter((m) => m.kind === 'Service');

  it('routes every Service to a Deployment port that exists', () => {
    for (const service of services) {
      const target = [gateway, publisher].find((d) => selects(service.spec.selector, podLabels(d)));
      expect(target, `${service.metadata.name} selects no Deployment`).toBeDefined();
      for (const port of service.spec.ports) {
        expect(portNumber(container(target!), port.targetPort), `${service.metadata.name}:${port.name}`).toBeDefined();
      }
    }
    const ws = find('Service', 'hydra-gateway');
    expect(portNumber(container(gateway), ws.spec.ports[0].targetPort)).toBe(CONTRACT.port);
    const admin = find('Service', 'hydra-gateway-admin');
    expect(admin.spec.clusterIP, 'headless: Prometheus scrapes every pod').toBe('None');
    expect(portNumber(container(gateway), admin.spec.ports[0].targetPort)).toBe(CONTRACT.adminPort);
  });

  it('keeps the client address on the socket (externalTrafficPolicy: Local) or trusts a proxy', () => {
    const ws = find('Service', 'hydra-gateway');
    const trusted = containerEnv(container(gateway)).values['HYDRA_TRUSTED_PROXIES'];
    if (ws.spec.type === 'LoadBalancer' || ws.spec.type === 'NodePort') {
      expect(ws.spec.externalTrafficPolicy).toBe('Local');
    } else {
      expect(trusted, 'a ClusterIP Service behind a proxy needs HYDRA_TRUSTED_PROXIES').toBeTruthy();
    }
  });

  it('limits voluntary disruption of the gateways', () => {
    const pdb = find('PodDisruptionBudget', 'hydra-gateway');
    expect(selects(pdb.spec.selector.matchLabels, podLabels(gateway))).toBe(true);
    expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBeDefined();
  });

  it('autoscales the gateway Deployment on CPU (autoscaling/v2)', () => {
    const hpa = find('HorizontalPodAutoscaler', 'hydra-gateway');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'hydra-gateway' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(gateway.spec.replicas);
    expect(hpa.spec.metrics.some((m: { resource?: { name: string } }) => m.resource?.name === 'cpu')).toBe(true);
    expect(container(gateway).resources?.requests?.['cpu'], 'CPU utilisation needs a request').toBeDefined();
  });

  it('has ServiceMonitors that select a Service port serving /metrics', () => {
    const monitors = manifests.filter((m) => m.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['hydra-gateway', 'hydra-publisher']);
    for (const monitor of monitors) {
      const selected = services.filter((s) => selects(monitor.spec.selector.matchLabels, s.metadata.labels ?? {}));
      expect(selected.length, `${monitor.metadata.name} selects no Service`).toBeGreaterThan(0);
      expect(monitor.spec.endpoints.length).toBeGreaterThan(0);
      for (const endpoint of monitor.spec.endpoints) {
        expect(endpoint.path).toBe(CONTRACT.metricsPath);
        expect(endpoint.interval).toMatch(/^\d+[smh]$/);
        for (const service of selected) {
          expect(
            service.spec.ports.map((p: { name: string }) => p.name),
            service.metadata.name,
          ).toContain(endpoint.port);
        }
      }
    }
    const gatewayMonitor = monitors.find((m) => m.metadata.name === 'hydra-gateway')!;
    const adminPort = find('Service', 'hydra-gateway-admin').spec.ports.find(
      (p: { name: string }) => p.name === gatewayMonitor.spec.endpoints[0].port,
    );
    expect(portNumber(container(gateway), adminPort?.targetPort)).toBe(CONTRACT.adminPort);
  });
});

describe('publisher Deployment', () => {
  const c = container(publisher);

  it('runs the publisher on the contract port with probes, without the demo feed', () => {
    expect(c.args ?? c.command).toEqual(['node', CONTRACT.publisherMain]);
    expect(Number(publisherConfig['HYDRA_PUBLISHER_PORT'])).toBe(CONTRACT.publisherPort);
    expect(publisherConfig['HYDRA_DEMO_FEED'] ?? 'false').not.toBe('true');
    expect(c.readinessProbe?.httpGet?.path).toBe(CONTRACT.readyPath);
    expect(portNumber(c, c.readinessProbe?.httpGet?.port)).toBe(CONTRACT.publisherPort);
    expect(c.livenessProbe?.httpGet?.path).toBe(CONTRACT.livePath);
    expect(portNumber(c, c.livenessProbe?.httpGet?.port)).toBe(CONTRACT.publisherPort);
    expect(podSpec(publisher).terminationGracePeriodSeconds ?? 30).toBeGreaterThan(preStopSleepSeconds(c));
  });

  it('keeps the gateway ConfigMap free of publisher-only settings', () => {
    for (const key of Object.keys(gatewayConfig)) expect(GATEWAY_ENV.has(key), key).toBe(true);
    for (const key of Object.keys(publisherConfig)) expect(PUBLISHER_ENV.has(key), key).toBe(true);
  });
});

describe('the strict Kubernetes checks catch mistakes (negative tests)', () => {
  const deployment = () =>
    structuredClone(find('Deployment', 'hydra-gateway')) as unknown as K8sObject & { file?: string };
  const check = (object: K8sObject) => {
    const { file: _file, ...clean } = object as K8sObject & { file?: string };
    return typeCheckManifests([{ label: 'mutant', object: clean as K8sObject }]);
  };

  it('rejects a misspelt field (readinesProbe) that kubernetes-models validate() accepts', () => {
    const mutant = deployment();
    const c = (mutant.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec
      .containers[0]!;
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    expect(() => new Deployment(mutant as never).validate()).not.toThrow(); // the gap this check closes
    expect(check(mutant).join('\n')).toMatch(/'"readinesProbe"' does not exist in type/);
  });

  it('rejects a wrongly typed field and an unknown top-level field', () => {
    const mistyped = deployment();
    (mistyped.spec as Record<string, unknown>).replicas = 'three';
    expect(check(mistyped).join('\n')).toMatch(/Type 'string' is not assignable to type 'number'/);
    const mutant = deployment();
    (mutant as Record<string, unknown>).sepc = {};
    expect(check(mutant).join('\n')).toMatch(/'"sepc"' does not exist in type/);
  });

  it('rejects a ServiceMonitor typo', () => {
    const monitor = structuredClone(find('ServiceMonitor', 'hydra-gateway')) as unknown as K8sObject;
    (monitor.spec as { endpoints: Record<string, unknown>[] }).endpoints[0]!.intervall = '15s';
    expect(check(monitor).join('\n')).toMatch(/'"intervall"' does not exist in type/);
  });

  describe('kustomize build', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hydra-kustomize-'));
    const rel = relative(repoPath(), dir);
    const write = (name: string, text: string) => {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    };
    const kustomization = (body: string) =>
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${relative(join(dir, 'x'), repoPath('deploy/k8s/base'))}\n${body}`;

    it('applies an overlay patch to an existing object', () => {
      write('ok/kustomization.yaml', kustomization('patches:\n  - path: replicas.yaml\n'));
      write(
        'ok/replicas.yaml',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hydra-gateway\nspec:\n  replicas: 5\n',
      );
      const built = buildKustomization(`${rel}/ok`).objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'hydra-gateway',
      );
      expect((built?.spec as { replicas: number }).replicas).toBe(5);
    });

    it('fails on a patch for an object the build does not have, and on a missing file', () => {
      write('bad/kustomization.yaml', kustomization('patches:\n  - path: replicas.yaml\n'));
      write(
        'bad/replicas.yaml',
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hydra-gatewy\nspec:\n  replicas: 5\n',
      );
      expect(() => buildKustomization(`${rel}/bad`)).toThrow(/hydra-gatewy, which the build does not have/);
      write('missing/kustomization.yaml', kustomization('  - nowhere.yaml\n'));
      expect(() => buildKustomization(`${rel}/missing`)).toThrow(/resource nowhere.yaml does not exist/);
      write(
        'json/kustomization.yaml',
        kustomization(
          'patches:\n  - target: { kind: Deployment, name: hydra-gateway }\n    patch: |\n      - op: replace\n        path: /spec/template/spec/containers/0/readinesProbe/periodSeconds\n        value: 3\n',
        ),
      );
      expect(() => buildKustomization(`${rel}/json`)).toThrow(/no such path/);
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));
  });
});

/**
 * The Redis overlays: the base pointed at Sentinel or Cluster. Each build is
 * read as the pods would see it (ConfigMaps by envFrom, Secrets by key, Secret
 * volumes as files, written to a temp dir for the `_FILE` variables) and parsed
 * with the gateway's and publisher's own config code.
 */
describe.each([
  ['redis-sentinel', 'sentinel'],
  ['redis-cluster', 'cluster'],
] as const)('deploy/k8s/%s', (overlay, mode) => {
  const { objects } = buildKustomization(`${K8S}/${overlay}`);
  const get = (kind: string, name: string): Manifest => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name) as Manifest | undefined;
    if (!found) throw new Error(`${overlay}: no ${kind} ${name} in the build`);
    return found;
  };
  const files = mkdtempSync(join(tmpdir(), `hydra-${overlay}-`));
  afterAll(() => rmSync(files, { recursive: true, force: true }));

  /** The environment of a Deployment's container, with each mounted Secret file written under `files`. */
  function podEnv(deployment: Manifest): Record<string, string> {
    const c = container(deployment);
    const env: Record<string, string> = {};
    for (const source of c.envFrom ?? []) Object.assign(env, get('ConfigMap', source.configMapRef!.name!).data);
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        const data = { ...get('Secret', ref.name!).stringData };
        expect(data, `${e.name}: Secret ${ref.name} has no key ${ref.key}`).toHaveProperty(ref.key);
        env[e.name] = data[ref.key]!;
      }
    }
    for (const [name, path] of Object.entries(env).filter(
      ([n]) => n.endsWith('_FILE') && n.startsWith('HYDRA_REDIS'),
    )) {
      const mount = (c.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`));
      expect(mount, `${name}=${path} is under no volumeMount`).toBeDefined();
      const volume = podSpec(deployment).volumes?.find((v) => v.name === mount!.name);
      const secretName = volume?.secret?.secretName;
      expect(secretName, `${name}: the volume is not a Secret`).toBeDefined();
      const data = { ...get('Secret', secretName!).stringData };
      const key = path.slice(mount!.mountPath.length + 1);
      expect(data, `${name}: Secret ${secretName} has no key ${key}`).toHaveProperty(key);
      const file = join(files, `${deployment.metadata.name}-${name}`);
      writeFileSync(file, `${data[key]}\n`);
      env[name] = file;
    }
    return env;
  }

  it(`names the backplane in ${mode} mode only, with the password from a mounted Secret file, for both processes`, () => {
    const gatewayEnv = podEnv(get('Deployment', 'hydra-gateway'));
    const publisherEnv = podEnv(get('Deployment', 'hydra-publisher'));
    for (const [name, env, allowed] of [
      ['gateway', gatewayEnv, GATEWAY_ENV],
      ['publisher', publisherEnv, PUBLISHER_ENV],
    ] as const) {
      for (const key of Object.keys(env)) expect(allowed.has(key), `${name}: ${key} is not its variable`).toBe(true);
      expect(env, name).not.toHaveProperty('HYDRA_REDIS_URL');
      expect(env, `${name}: a password in env`).not.toHaveProperty('HYDRA_REDIS_PASSWORD');
    }
    const gatewayRedis = parseGatewayConfig(gatewayEnv).redis;
    const publisherConfig = parsePublisherConfig(publisherEnv);
    expect(gatewayRedis?.mode).toBe(mode);
    expect(publisherConfig.redis).toEqual(gatewayRedis);
    expect(gatewayRedis?.auth.password).toBe('CHANGE-ME');
    expect(publisherConfig.minReplicas).toBe(1);
    // The Secret the base gives the gateway no longer carries a URL a process could pick up.
    expect(Object.keys({ ...get('Secret', 'hydra-secrets').stringData })).toEqual(['HYDRA_INGEST_TOKEN']);
  });

  it('validates against the Kubernetes schemas (type-checked with every kustomization above)', () => {
    new Deployment(get('Deployment', 'hydra-gateway') as never).validate();
    new Deployment(get('Deployment', 'hydra-publisher') as never).validate();
    new Secret(get('Secret', 'hydra-redis') as never).validate();
  });

  it.skipIf(skipWithout('kubectl', 'kubectl'))('builds with `kubectl kustomize` to the same objects', async () => {
    // Spawned asynchronously: a synchronous spawn blocks the test worker, whose RPC then times out under load.
    const { stdout } = await promisify(execFile)('kubectl', ['kustomize', `${K8S}/${overlay}`], {
      cwd: repoPath(),
      timeout: 60_000,
    });
    const built = loadYamlDocuments(stdout);
    const ids = (list: { kind?: unknown; metadata?: unknown }[]) =>
      list.map((o) => `${o.kind}/${(o.metadata as { name: string }).name}`).sort();
    expect(ids(built)).toEqual(ids(objects));
    const gatewayBuilt = built.find(
      (o) => o['kind'] === 'Deployment' && (o['metadata'] as { name: string }).name === 'hydra-gateway',
    );
    expect(gatewayBuilt).toEqual(expect.objectContaining({ spec: expect.anything() }));
    expect(container(gatewayBuilt as Manifest).volumeMounts).toEqual(
      container(get('Deployment', 'hydra-gateway')).volumeMounts,
    );
  });
});
