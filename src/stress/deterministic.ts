/** A stress seed as a deterministic scenario (replay of `dmasim stress --deterministic`). */

import { SimulatorError } from '../errors.js';
import type { Scenario } from '../sched/scenario.js';

export function stressScenario(_config: unknown): Scenario {
  throw new SimulatorError('stress scenarios are not replayable yet');
}
