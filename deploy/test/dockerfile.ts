/**
 * A small reader of deploy/Dockerfile: instructions (line continuations
 * joined, comments dropped) grouped by stage, with global ARGs substituted in
 * FROM. Enough for the static checks and for replaying the build stage.
 */
import { readText } from './support.js';

export interface Instruction {
  op: string;
  args: string;
}
export interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  instructions: Instruction[];
  stages: Stage[];
  /** A stage's instructions including those it inherits from earlier stages (FROM <stage>). */
  effective(name: string): { base: string; instructions: Instruction[] };
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const [image, as, name] = ins.args.split(/\s+/);
      const from = image!.replace(/\$\{?(\w+)\}?/g, (_, v: string) => globalArgs.get(v) ?? `<unset ${v}>`);
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op === 'ARG') {
        const [key, value] = ins.args.split('=');
        globalArgs.set(key!, value ?? '');
      }
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }

  const effective = (name: string): { base: string; instructions: Instruction[] } => {
    const stage = stages.find((s) => s.name === name);
    if (!stage) throw new Error(`no stage ${name}`);
    if (stages.some((s) => s.name === stage.from)) {
      const parent = effective(stage.from);
      return { base: parent.base, instructions: [...parent.instructions, ...stage.instructions] };
    }
    return { base: stage.from, instructions: stage.instructions };
  };
  return { instructions, stages, effective };
}

export const dockerfile: Dockerfile = parseDockerfile(readText('deploy/Dockerfile'));

/** The variables of ENV instructions (`KEY=value` form), later ones winning. */
export function envOf(list: Instruction[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const i of list.filter((x) => x.op === 'ENV')) {
    for (const [, k, v] of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env.set(k!, v!.replace(/^"|"$/g, ''));
  }
  return env;
}
