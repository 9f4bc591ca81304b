/**
 * Who holds the locks on each frame. The DDK keeps one lock count per page, and any driver may drop
 * any lock; for blame at teardown (lock-leak) we also keep which driver took each lock still held,
 * and where. Main thread only; memory is bounded by the locks held (consecutive locks by the same
 * driver from the same kind of call share one run).
 *
 * Unlock rule: an unlock consumes the unlocking driver's most recent lock of that kind (a plain lock,
 * or the one a global alias stands for); a driver dropping a lock it never took (the DDK allows it)
 * consumes the most recent lock of that kind, whoever took it — it is that driver's lock that the
 * count no longer shows.
 */

export interface LockRun {
  readonly ctx: number;
  count: number;
  /** The stack of the first lock of the run (undefined: stacks off). */
  readonly where: Error | undefined;
  /** The lock a PAGEMAPGLOBAL alias stands for (released by tearing the alias down). */
  readonly alias: boolean;
}

export class LockLedger {
  private readonly runs = new Map<number, LockRun[]>();

  lock(frame: number, ctx: number, where: Error | undefined): void {
    const list = this.runs.get(frame);
    const last = list?.[list.length - 1];
    if (last && last.ctx === ctx && !last.alias) {
      last.count++;
      return;
    }
    const run: LockRun = { ctx, count: 1, where, alias: false };
    if (list) list.push(run);
    else this.runs.set(frame, [run]);
  }

  /** The most recent plain lock by `ctx` on `frame` now stands for a global alias. */
  toAlias(frame: number, ctx: number, where: Error | undefined): void {
    const list = this.runs.get(frame);
    if (!list) return;
    this.take(list, ctx, false);
    list.push({ ctx, count: 1, where, alias: true });
  }

  unlock(frame: number, ctx: number, alias: boolean): void {
    const list = this.runs.get(frame);
    if (!list) return;
    this.take(list, ctx, alias);
    if (list.length === 0) this.runs.delete(frame);
  }

  /** The frame's locks ended all at once (freed, decommitted while locked). */
  clear(frame: number): void {
    this.runs.delete(frame);
  }

  holders(frame: number): readonly LockRun[] {
    return this.runs.get(frame) ?? [];
  }

  frames(): IterableIterator<number> {
    return this.runs.keys();
  }

  private take(list: LockRun[], ctx: number, alias: boolean): void {
    let i = list.length - 1;
    while (i >= 0 && !(list[i]!.ctx === ctx && list[i]!.alias === alias)) i--;
    if (i < 0) {
      i = list.length - 1;
      while (i >= 0 && list[i]!.alias !== alias) i--;
    }
    if (i < 0) i = list.length - 1;
    if (i < 0) return;
    if (--list[i]!.count === 0) list.splice(i, 1);
  }
}
