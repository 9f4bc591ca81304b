/**
 * The kind drivers a stress campaign can run, by device kind: one module per kind beside this
 * file, one row here. `--kinds` takes these names; the default is every row, in this order.
 */

import { copyEngineKind } from './copy-engine.js';
import { ideBusmasterKind } from './ide-busmaster.js';
import { isaAudioKind } from './isa-audio.js';
import { nicKind } from './nic.js';
import type { StressKind } from './types.js';

export const KINDS: Readonly<Record<string, StressKind>> = {
  'copy-engine': copyEngineKind,
  'isa-audio': isaAudioKind,
  'ide-busmaster': ideBusmasterKind,
  nic: nicKind,
};

export const KIND_NAMES: readonly string[] = Object.keys(KINDS);

export type { KindEnv, KindInstance, StressKind, TransferResult, TransferSpec } from './types.js';
