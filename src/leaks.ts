/**
 * Leak records (sim.leaks()): what is still held that should not outlive a test — a lock (blamed on
 * the driver that took it, from the lock ledger), a global alias (alive, or dead but still
 * committed), a DMA still in flight or a command still running, a device never detached. Made on
 * demand from the current state; at close, from the state just before the devices were detached.
 */

import { PAGESIZE, type Frame, type LinPage, nthPage } from './address.js';
import { formatStack } from './vmm/history.js';
import type { MemoryCore } from './vmm/core.js';
import type { DeviceRef } from './report.js';
import type { Leak } from './report/types.js';
import { readInflight } from './frametable.js';
import type { SharedViews } from './layout.js';

export interface LiveDevice {
  readonly ref: DeviceRef;
  readonly driver: string;
  /** Doorbells rung and served: a difference is a command still running or queued. */
  readonly rung: number;
  readonly served: number;
  readonly attachedAt: Error | undefined;
}

export interface LeakSources {
  readonly core: MemoryCore;
  readonly shared: SharedViews;
  driverName(ctx: number): string | null;
  devices(): readonly LiveDevice[];
  deviceInSlot(slot: number): DeviceRef | null;
}

const hex = (n: number, w = 8) => `0x${n.toString(16).padStart(w, '0')}`;

export function findLeaks(s: LeakSources): Leak[] {
  const out: Leak[] = [];
  const { core } = s;
  // lock-leak: per (driver, frame), the locks it took that are still held.
  for (const f of [...core.locks.frames()].sort((a, b) => a - b)) {
    const st = core.frameState(f as Frame);
    if (st.lock === 0) continue;
    const byCtx = new Map<number, { count: number; where: Error | undefined }>();
    for (const r of core.locks.holders(f)) {
      if (r.alias) continue;
      const e = byCtx.get(r.ctx);
      if (e) e.count += r.count;
      else byCtx.set(r.ctx, { count: r.count, where: r.where });
    }
    for (const [ctx, { count, where }] of byCtx) {
      const driver = s.driverName(ctx);
      const page = st.owner >= 0 ? st.owner : null;
      const taken = formatStack(where);
      out.push({
        code: 'lock-leak',
        message: `${page !== null ? `linear page ${hex(page, 5)}` : 'a page'} (frame ${hex(f, 5)}) is still locked by driver "${driver ?? `#${ctx}`}" (${count} lock${count > 1 ? 's' : ''} it took, ${st.lock} in all)`,
        driver,
        device: null,
        frame: f,
        linearPage: page,
        count,
        detail: { lockCount: st.lock },
        stacks: taken ? { taken } : {},
      });
    }
  }
  // alias-leak: every alias block still committed.
  for (const b of core.aliasBlocks()) {
    const map = b.alias!;
    let alive = 0;
    for (let i = 0; i < b.size; i++) if (core.aliasValid(nthPage(b.base, i) as LinPage)) alive++;
    const driver = s.driverName(map.ctx);
    const taken = formatStack(map.where);
    out.push({
      code: 'alias-leak',
      message:
        alive === b.size
          ? `global alias of ${b.size} page${b.size > 1 ? 's' : ''} at ${hex(b.base * PAGESIZE)} is still mapped (and holds its lock${b.size > 1 ? 's' : ''}): tear it down with _LinPageUnLock(…, PAGEMAPGLOBAL)`
          : `global alias at ${hex(b.base * PAGESIZE)} is still committed though ${b.size - alive} of its ${b.size} original page${b.size > 1 ? 's were' : ' was'} unlocked without PAGEMAPGLOBAL: dead, but its system memory stays taken until _LinPageUnLock(…, PAGEMAPGLOBAL)`,
      driver,
      device: null,
      frame: -1,
      linearPage: b.base,
      count: b.size,
      detail: { pages: b.size, alive, original: map.pages[0]! },
      stacks: taken ? { taken } : {},
    });
  }
  // dma-in-flight: a command still running or queued, and frames still marked in flight.
  for (const d of s.devices()) {
    if (d.rung === d.served) continue;
    out.push({
      code: 'dma-in-flight',
      message: `${d.ref.kind}#${d.ref.id} still owes ${d.rung - d.served} command${d.rung - d.served > 1 ? 's' : ''} (doorbell ${d.served + 1} of ${d.rung} not finished): the test ended before the device did`,
      driver: d.driver,
      device: d.ref,
      frame: -1,
      linearPage: null,
      count: d.rung - d.served,
      detail: { rung: d.rung, served: d.served },
      stacks: {},
    });
  }
  for (let f = 0; f < s.shared.frames; f++) {
    const slots = readInflight(s.shared, f as Frame);
    if (!slots) continue;
    for (const slot of slots) {
      const ref = s.deviceInSlot(slot);
      const page = core.frameState(f as Frame).owner;
      out.push({
        code: 'dma-in-flight',
        message: `frame ${hex(f, 5)} has a DMA access of ${ref ? `${ref.kind}#${ref.id}` : `device slot ${slot}`} in flight`,
        driver: null,
        device: ref,
        frame: f,
        linearPage: page >= 0 ? page : null,
        count: 1,
        detail: { slot },
        stacks: {},
      });
    }
  }
  // device-leak: attached, never detached.
  for (const d of s.devices()) {
    const taken = formatStack(d.attachedAt);
    out.push({
      code: 'device-leak',
      message: `${d.ref.kind}#${d.ref.id}${d.ref.name !== d.ref.kind ? ` (${d.ref.name})` : ''} of driver "${d.driver}" is still attached: detach it (handle.detach()) when the driver unloads`,
      driver: d.driver,
      device: d.ref,
      frame: -1,
      linearPage: null,
      count: 1,
      detail: { attachment: d.ref.attachment },
      stacks: taken ? { taken } : {},
    });
  }
  return out;
}

export function renderLeak(l: Leak): string {
  const bar = '='.repeat(78);
  const lines = [bar, `BUG: dmasim: ${l.code}${l.device ? ` in ${l.device.kind}#${l.device.id}` : ''}${l.driver ? `, driver "${l.driver}"` : ''}`, l.message];
  if (l.stacks.taken) {
    lines.push('', `${l.code === 'lock-leak' ? 'Locked' : l.code === 'alias-leak' ? 'Alias made' : 'Attached'} by:`);
    for (const s of l.stacks.taken) lines.push(`  ${s}`);
  }
  lines.push(bar);
  return lines.join('\n');
}
