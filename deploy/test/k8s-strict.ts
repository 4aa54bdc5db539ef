/**
 * Strict checks of Kubernetes manifests, beyond kubernetes-models' validate()
 * (which accepts unknown fields, so a typo such as `readinesProbe` passes).
 *
 * - typeCheckManifests: each manifest becomes an object literal typed with its
 *   kubernetes-models interface and goes through the TypeScript compiler; its
 *   excess-property checks reject every unknown field at any depth, and its
 *   type checks every known one.
 * - buildKustomization: resolves a kustomization as `kustomize build` would,
 *   enough to prove that every referenced file exists, that each patch applies
 *   to an object the build has, and to return the resulting objects.
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { loadYaml, loadYamlDocuments, ROOT, readText, repoPath } from './support.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The kubernetes-models interface of each kind the manifests use. */
const MODEL_TYPES: Record<string, { module: string; type: string }> = {
  'v1/Namespace': { module: 'kubernetes-models/v1', type: 'INamespace' },
  'v1/ConfigMap': { module: 'kubernetes-models/v1', type: 'IConfigMap' },
  'v1/Secret': { module: 'kubernetes-models/v1', type: 'ISecret' },
  'v1/Service': { module: 'kubernetes-models/v1', type: 'IService' },
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1', type: 'IDeployment' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1', type: 'IPodDisruptionBudget' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    module: 'kubernetes-models/autoscaling/v2',
    type: 'IHorizontalPodAutoscaler',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
    type: 'IServiceMonitor',
  },
};

/**
 * Type-checks manifests against the kubernetes-models interfaces. Returns one
 * message per problem, prefixed with the manifest's label; empty when all pass.
 */
export function typeCheckManifests(manifests: { label: string; object: K8sObject }[]): string[] {
  const problems: string[] = [];
  const lines: string[] = [];
  const owners: { from: number; label: string }[] = [];
  manifests.forEach(({ label, object }, i) => {
    const model = MODEL_TYPES[`${object.apiVersion}/${object.kind}`];
    if (!model) {
      problems.push(`${label}: no schema for ${object.apiVersion} ${object.kind}`);
      return;
    }
    owners.push({ from: lines.length, label });
    lines.push(`export const m${i}: import('${model.module}').${model.type} = `);
    lines.push(...`${JSON.stringify(object, null, 2)};`.split('\n'));
  });
  const file = join(ROOT, 'deploy', 'test', '.k8s-manifests.generated.ts');
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file?.fileName !== file || d.start === undefined) {
      problems.push(`type check: ${message}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const owner = owners.filter((o) => o.from <= line).at(-1);
    const text = lines[line]?.trim() ?? '';
    problems.push(`${owner?.label ?? '?'}: ${message} (at \`${text}\`)`);
  }
  return problems;
}

interface Kustomization {
  resources?: string[];
  patches?: { path?: string; patch?: string; target?: PatchTarget }[];
  patchesStrategicMerge?: string[];
  namespace?: string;
  namePrefix?: string;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  commonLabels?: Record<string, string>;
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}
interface PatchTarget {
  kind?: string;
  name?: string;
  group?: string;
  version?: string;
}

const SUPPORTED = new Set([
  'apiVersion',
  'kind',
  'resources',
  'patches',
  'patchesStrategicMerge',
  'namespace',
  'namePrefix',
  'labels',
  'commonLabels',
  'images',
]);

/** The objects `kustomize build <dir>` would produce (as far as the fields used here go); throws on any problem. */
export function buildKustomization(dir: string): { objects: K8sObject[]; files: string[] } {
  const kfile = ['kustomization.yaml', 'kustomization.yml']
    .map((n) => join(dir, n))
    .find((f) => existsSync(repoPath(f)));
  if (!kfile) throw new Error(`${dir}: no kustomization.yaml`);
  const k = loadYaml(readText(kfile)) as Kustomization & Record<string, unknown>;
  if (k.kind !== 'Kustomization' || !String(k.apiVersion).startsWith('kustomize.config.k8s.io/')) {
    throw new Error(`${kfile}: not a Kustomization`);
  }
  for (const field of Object.keys(k)) {
    if (!SUPPORTED.has(field)) throw new Error(`${kfile}: field "${field}" is not understood by this check`);
  }
  const files = [kfile];
  const objects: K8sObject[] = [];
  const resolve = (ref: string, what: string): string => {
    const path = relative(ROOT, repoPath(dir, ref));
    if (!existsSync(repoPath(path))) throw new Error(`${kfile}: ${what} ${ref} does not exist`);
    return path;
  };
  for (const ref of k.resources ?? []) {
    const path = resolve(ref, 'resource');
    if (statSync(repoPath(path)).isDirectory()) {
      const built = buildKustomization(path);
      objects.push(...built.objects);
      files.push(...built.files);
    } else {
      objects.push(...(loadYamlDocuments(readText(path)) as K8sObject[]));
      files.push(path);
    }
  }

  const strategic: { patch: K8sObject; from: string }[] = [];
  for (const ref of k.patchesStrategicMerge ?? []) {
    const path = resolve(ref, 'patch');
    files.push(path);
    for (const doc of loadYamlDocuments(readText(path))) strategic.push({ patch: doc as K8sObject, from: path });
  }
  for (const [i, p] of (k.patches ?? []).entries()) {
    const from = p.path ? resolve(p.path, 'patch') : `${kfile} patches[${i}]`;
    if (p.path) files.push(from);
    const text = p.path ? readText(from) : (p.patch ?? '');
    const parsed = loadYaml(text);
    if (Array.isArray(parsed)) {
      // JSON 6902: needs a target; every op's path must exist (except add's last segment).
      const targets = objects.filter((o) => matches(o, p.target));
      if (!p.target || targets.length === 0) throw new Error(`${from}: JSON patch target matches no object`);
      for (const target of targets) applyJsonPatch(target, parsed as JsonOp[], from);
    } else {
      strategic.push({ patch: parsed as K8sObject, from });
    }
  }
  for (const { patch, from } of strategic) {
    const target = objects.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata?.name);
    if (!target)
      throw new Error(`${from}: patch for ${patch.kind} ${patch.metadata?.name}, which the build does not have`);
    mergeInto(target, patch);
  }

  for (const image of k.images ?? []) {
    const used = objects.some((o) => JSON.stringify(o).includes(`"image":"${image.name}`));
    if (!used) throw new Error(`${kfile}: images entry ${image.name} matches no container`);
  }
  for (const o of objects) {
    if (k.namespace && o.kind !== 'Namespace') o.metadata.namespace = k.namespace;
    if (k.namePrefix) o.metadata.name = `${k.namePrefix}${o.metadata.name}`;
    for (const pairs of [...(k.labels ?? []).map((l) => l.pairs), k.commonLabels ?? {}]) {
      o.metadata.labels = { ...o.metadata.labels, ...pairs };
    }
  }
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(id)) throw new Error(`${dir}: ${id} appears twice in the build`);
    seen.add(id);
  }
  return { objects, files };
}

function matches(o: K8sObject, target: PatchTarget | undefined): boolean {
  if (!target) return false;
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  return (
    (target.kind === undefined || target.kind === o.kind) &&
    (target.name === undefined || target.name === o.metadata.name) &&
    (target.group === undefined || target.group === group) &&
    (target.version === undefined || target.version === version)
  );
}

interface JsonOp {
  op: string;
  path: string;
  value?: unknown;
}

function applyJsonPatch(target: K8sObject, ops: JsonOp[], from: string): void {
  for (const op of ops) {
    const segments = op.path
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop()!;
    let node: unknown = target;
    for (const segment of segments) {
      node = (node as Record<string, unknown> | undefined)?.[segment];
      if (node === undefined)
        throw new Error(`${from}: ${op.op} ${op.path}: no such path in ${target.kind} ${target.metadata.name}`);
    }
    const parent = node as Record<string, unknown>;
    if (op.op !== 'add' && !(last in parent)) {
      throw new Error(`${from}: ${op.op} ${op.path}: no such path in ${target.kind} ${target.metadata.name}`);
    }
    if (op.op === 'remove') delete parent[last];
    else if (op.op === 'add' && Array.isArray(parent) && last === '-') parent.push(op.value);
    else if (op.op === 'add' || op.op === 'replace') parent[last] = op.value;
  }
}

/** A strategic merge, simplified: maps merge, lists of named items merge by name, other values replace. */
function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (
      Array.isArray(value) &&
      Array.isArray(current) &&
      value.every((v) => typeof v === 'object' && v && 'name' in v)
    ) {
      for (const item of value as Record<string, unknown>[]) {
        const existing = (current as Record<string, unknown>[]).find((c) => c.name === item.name);
        if (existing) mergeInto(existing, item);
        else current.push(item);
      }
    } else if (value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object') {
      mergeInto(current as Record<string, unknown>, value as Record<string, unknown>);
    } else {
      target[key] = value;
    }
  }
}
