/**
 * dmasim's own scenarios (BUILTIN_SCENARIOS), by name: the race demos `dmasim explore` finds, each
 * with its correct twin. Importing this module registers them.
 */

import { BUILTIN_SCENARIOS } from '../scenario.js';

void BUILTIN_SCENARIOS;
