/** piscina worker entry for `dmasim stress --jobs N`: one seed per task (src/stress/seed.ts). */
import { runSeed, type SeedResult, type SeedTask } from '../src/stress/seed.js';

export default function stressSeed(task: SeedTask): Promise<SeedResult> {
  return runSeed(task);
}
