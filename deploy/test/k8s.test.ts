/**
 * deploy/k8s checked offline: every manifest validates against the Kubernetes
 * schemas (kubernetes-models), the kustomizations list every file, and the
 * gateway's probes, ports, drain timing and hardening match the contract.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { describe, expect, it } from 'vitest';
import {
  CONTRACT,
  FALLBACK_SWITCHES,
  filesUnder,
  GATEWAY_ENV,
  hydraNamesIn,
  KNOWN_ENV,
  loadYaml,
  loadYamlDocuments,
  PUBLISHER_ENV,
  readText,
  repoPath,
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
    ]);
  });

  it.each(
    manifests.map((m) => [`${m.kind} ${m.metadata.name} (${m.file})`, m] as const),
  )('%s validates', (_label, manifest) => {
    expect(manifest.metadata?.name).toBeTruthy();
    if (manifest.kind === 'ServiceMonitor') {
      expect(manifest.apiVersion).toBe('monitoring.coreos.com/v1');
      return; // not a core type: checked structurally below
    }
    const validate = validators[`${manifest.apiVersion}/${manifest.kind}`];
    expect(validate, `no schema for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
    validate!(manifest);
  });

  it('lists every manifest in exactly one kustomization, and every listed file exists', () => {
    const listed: string[] = [];
    for (const file of kustomizationFiles) {
      const k = loadYaml(readText(file)) as { resources?: string[] };
      for (const resource of k.resources ?? []) {
        const path = join(dirname(file), resource);
        expect(existsSync(repoPath(path)), `${file}: ${resource}`).toBe(true);
        if (/\.ya?ml$/.test(resource)) listed.push(path);
      }
    }
    expect(listed.sort()).toEqual(manifestFiles);
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
