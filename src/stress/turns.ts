/**
 * The turn token of the stress loop's driver tasks: one task at a time runs main-thread driver
 * code, and the token goes round the tasks in a fixed order. A task gives the token up only while
 * it waits for its device (KindEnv.wait); the next task in order takes it as soon as its own device
 * has answered. So the devices run concurrently, but every VMM call, CPU access and pager step of
 * every driver happens in an order that depends on the seed alone — not on which worker thread
 * was faster — and a seed's totals (transfers, bytes, violation codes) are the same on every run,
 * in any job or shard.
 *
 * In deterministic mode the token is the same, but a task waits for it through the scheduler
 * (`waitFor`: a `sim.waitUntil` on the holder): a promise resolved by another task is not a
 * scheduler wait, and the scheduler would take the waiting task's step for one that never ends.
 */

export class Turns {
  private holder = 0;
  private readonly waiting: ((() => void) | undefined)[];
  private readonly finished: boolean[];

  constructor(
    private readonly n: number,
    /** Deterministic mode: a scheduler wait until `cond()` holds. */
    private readonly waitFor?: (cond: () => boolean) => Promise<unknown>,
  ) {
    this.waiting = new Array<(() => void) | undefined>(n).fill(undefined);
    this.finished = new Array<boolean>(n).fill(false);
  }

  /** Resolves when task `i` holds the token (at once if it does). */
  acquire(i: number): Promise<void> {
    if (this.holder === i) return Promise.resolve();
    if (this.waitFor) return this.waitFor(() => this.holder === i).then(() => undefined);
    return new Promise((resolve) => {
      this.waiting[i] = resolve;
    });
  }

  /** Task `i` (the holder) passes the token to the next unfinished task in order. */
  release(i: number): void {
    if (this.holder !== i) throw new Error(`dmasim stress internal: task ${i} released a turn held by ${this.holder}`);
    let next = i;
    for (let k = 1; k <= this.n; k++) {
      const c = (i + k) % this.n;
      if (!this.finished[c]) {
        next = c;
        break;
      }
    }
    this.holder = next;
    const wake = this.waiting[next];
    if (wake) {
      this.waiting[next] = undefined;
      wake();
    }
  }

  /** Task `i` is done for good; if it holds the token, the token moves on. */
  finish(i: number): void {
    this.finished[i] = true;
    if (this.holder === i) this.release(i);
  }
}
