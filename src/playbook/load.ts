import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type SourcePos } from '../errors.js';
import { VALUES } from '../steps/types.js';
import { asset, assetLocation } from '../util/assets.js';

/** How the runner walks the hosts in a phase. */
export type PhaseHosts = 'parallel' | 'rolling' | 'fleet';

export interface Phase {
  name: string;
  hosts: PhaseHosts;
  steps: string[];
  /**
   * The steps' read-only plans do not read what other steps' plans decide, so the runner may
   * start them on a host at once (with every other independent phase's plans); results are still
   * recorded in playbook order. Only for parallel phases.
   */
  independent?: boolean;
  /** The fleet steps do not depend on each other: their applies run at the same time. Only for fleet phases. */
  concurrent?: boolean;
}

/** A playbook: step order per backend, as data (playbooks/<backend>.yaml). */
export interface Playbook {
  backend: string;
  description: string;
  phases: Phase[];
  file: string;
}

/** What the loader knows of a step: where it runs and the values it needs and gives (see steps/types.ts). */
export interface StepDeclaration {
  scope: 'host' | 'fleet';
  needs: readonly string[];
  gives: readonly string[];
}

/** What the loader knows of a value: whose it is (a host's or the fleet's) and which stage gives it. */
export type ValueDeclarations = Record<string, { scope: 'host' | 'fleet'; stage: 'plan' | 'apply' }>;

/** Load playbooks/<backend>.yaml and check it names only known steps, in the right scope and an order their values allow. */
export async function loadPlaybook(backend: string, knownSteps: Record<string, StepDeclaration>, values: ValueDeclarations = VALUES): Promise<Playbook> {
  const rel = `playbooks/${backend}.yaml`;
  const file = assetLocation(rel);
  let text: string;
  try {
    text = asset(rel);
  } catch {
    throw new ConfigError(`no playbook for backend '${backend}' (${file})`);
  }
  return parsePlaybook(text, file, knownSteps, values);
}

/** Pure: validate a playbook's YAML; errors carry file:line:col. */
export function parsePlaybook(text: string, file: string, knownSteps: Record<string, StepDeclaration>, values: ValueDeclarations = VALUES): Playbook {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const at = (offset: number | undefined) => {
    const { line, col } = lc.linePos(offset ?? 0);
    return { file, line, col, lineText: text.split('\n')[line - 1] ?? '' };
  };
  if (doc.errors.length) throw new ConfigError(doc.errors[0]!.message.split('\n')[0]!, at(doc.errors[0]!.pos[0]));
  const raw = doc.toJS() as { backend?: unknown; description?: unknown; phases?: unknown };
  if (typeof raw?.backend !== 'string' || !Array.isArray(raw.phases)) {
    throw new ConfigError('a playbook needs `backend` and a list of `phases`', at(0));
  }
  const phases: Phase[] = raw.phases.map((p: { name?: unknown; hosts?: unknown; steps?: unknown; independent?: unknown; concurrent?: unknown }, i: number) => {
    const node = doc.getIn(['phases', i], true) as { range?: [number] } | undefined;
    const where = at(node?.range?.[0]);
    if (typeof p?.name !== 'string') throw new ConfigError(`phase ${i + 1} needs a name`, where);
    if (p.hosts !== 'parallel' && p.hosts !== 'rolling' && p.hosts !== 'fleet') {
      throw new ConfigError(`phase '${p.name}': hosts must be parallel, rolling or fleet`, where);
    }
    if (!Array.isArray(p.steps) || p.steps.length === 0) throw new ConfigError(`phase '${p.name}' has no steps`, where);
    for (const s of p.steps) {
      const step = knownSteps[String(s)];
      if (!step) throw new ConfigError(`phase '${p.name}': unknown step '${String(s)}' (known: ${Object.keys(knownSteps).join(', ')})`, where);
      if ((p.hosts === 'fleet') !== (step.scope === 'fleet')) {
        throw new ConfigError(`phase '${p.name}': step '${String(s)}' is a ${step.scope} step and cannot run with hosts: ${p.hosts}`, where);
      }
    }
    const flag = (name: 'independent' | 'concurrent', only: PhaseHosts): boolean => {
      const value = p[name];
      if (value !== undefined && (typeof value !== 'boolean' || (value && p.hosts !== only))) {
        throw new ConfigError(`phase '${p.name}': ${name} must be true or false, and only ${only} phases can be ${name}`, where);
      }
      return value === true;
    };
    return { name: p.name, hosts: p.hosts, steps: p.steps.map(String), independent: flag('independent', 'parallel'), concurrent: flag('concurrent', 'fleet') };
  });
  checkDataFlow(phases, knownSteps, values, (i, j) => at((doc.getIn(['phases', i, 'steps', j], true) as { range?: [number] } | undefined)?.range?.[0]));
  return { backend: raw.backend, description: String(raw.description ?? ''), phases, file };
}

/**
 * Every value a step needs must be given by a step before it: by an earlier phase, or earlier in
 * the same phase unless the phase runs its steps at once (a concurrent phase's applies; an
 * independent phase's plans, which start before any other plan). Refused at the needing step's
 * position in the file.
 */
function checkDataFlow(phases: Phase[], steps: Record<string, StepDeclaration>, values: ValueDeclarations, where: (phase: number, step: number) => SourcePos): void {
  const given = new Map<string, string>();
  phases.forEach((phase, i) => {
    const inPhase = new Map<string, string>();
    phase.steps.forEach((name, j) => {
      const step = steps[name]!;
      for (const need of step.needs) {
        const value = values[need];
        const refuse = (why: string) => {
          throw new ConfigError(`phase '${phase.name}': step '${name}' needs '${need}', ${why}`, where(i, j));
        };
        if (!value) refuse('which is not a known value');
        if (value!.scope === 'fleet' && step.scope === 'host') refuse("a fleet value, which a host step cannot read");
        const producer = given.get(need) ?? inPhase.get(need);
        const givers = Object.entries(steps).filter(([, s]) => s.gives.includes(need)).map(([n]) => n);
        if (!producer) refuse(`which no earlier step gives (${givers.length ? `given by ${givers.join(', ')}` : 'no step gives it'})`);
        if (!given.has(need) && phase.concurrent) refuse(`given by '${producer}' in the same concurrent phase, whose steps apply at once`);
        if (phase.independent && value!.stage === 'plan') refuse(`given by '${producer}', but the plans of an independent phase start before any other plan`);
      }
      for (const value of step.gives) inPhase.set(value, name);
    });
    for (const [value, name] of inPhase) given.set(value, name);
  });
}
