/**
 * A stress seed as a deterministic scenario: what `dmasim replay` runs for a report made by
 * `dmasim stress --deterministic` (SimReport.deterministic.scenario = { stress: config + seed }).
 * It builds the simulator the seed ran in (seed.ts seedSimOptions) and runs the same stress loop
 * over it, so with the report's seed and decisions every step happens again, in the same order.
 */

import { SimulatorError } from '../errors.js';
import type { Scenario } from '../sched/scenario.js';
import type { StressConfig } from './config.js';
import { isInjection } from './inject.js';
import { KINDS } from './kinds/index.js';
import { StressLoop } from './loop.js';
import { seedLoopConfig, seedSimOptions, type StressScenarioConfig } from './seed.js';

/** The scenario of a stress seed; throws SimulatorError naming what the reference lacks. */
export function stressScenario(ref: unknown): Scenario {
  const c = checkStressRef(ref);
  return {
    name: `stress seed ${c.seed}`,
    about: `dmasim stress --deterministic --seed ${c.seed}: ${c.devices} devices (${c.kinds.join(', ')}), ${c.transfers} transfers, pager ${c.pager}${c.inject.length ? `, inject ${c.inject.map((i) => `${i.kind}:${i.rate}`).join(' ')}` : ''}`,
    options: seedSimOptions(c),
    async run(sim) {
      const loop = await StressLoop.create(sim, seedLoopConfig(c, c.seed));
      const outcome = await loop.run({ transfers: c.transfers! });
      // Stopped at its first violation (a replay): the tasks were abandoned mid-transfer, so there is
      // nothing to tear down in order; closing the simulator ends the devices.
      if (outcome === 'violation') return;
      const o = await loop.finish();
      if (o.errors.length > 0) throw new SimulatorError(`stress seed ${c.seed}: ${o.errors.join('; ')}`);
    },
  };
}

function checkStressRef(x: unknown): StressScenarioConfig {
  const bad = (what: string): never => {
    throw new SimulatorError(`not a stress scenario reference: ${what}`);
  };
  if (typeof x !== 'object' || x === null || Array.isArray(x)) bad('not an object');
  const r = x as Record<string, unknown>;
  const int = (k: string, min: number) => (typeof r[k] === 'number' && Number.isSafeInteger(r[k]) && (r[k] as number) >= min ? (r[k] as number) : bad(`${k} is not an integer ≥ ${min}`));
  int('seed', 0);
  int('devices', 1);
  int('memory', 1 << 20);
  if (r.transfers === null) bad('transfers is null (a time budget does not replay)');
  int('transfers', 1);
  if (!Array.isArray(r.kinds) || r.kinds.length === 0 || r.kinds.some((k) => typeof k !== 'string' || !KINDS[k])) bad(`kinds ${JSON.stringify(r.kinds)} are not known stress kinds`);
  if (r.pager !== 'off' && r.pager !== 'random' && r.pager !== 'aggressive') bad(`pager ${JSON.stringify(r.pager)}`);
  if (!Array.isArray(r.inject) || r.inject.some((i: unknown) => typeof i !== 'object' || i === null || !isInjection(String((i as { kind?: unknown }).kind)) || typeof (i as { rate?: unknown }).rate !== 'number')) bad('inject is not a list of { kind, rate }');
  return r as unknown as StressConfig & { seed: number };
}
