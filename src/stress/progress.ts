/**
 * The progress line on stderr, only when stderr is a terminal: seeds done, transfers, violations
 * so far, ETA — repainted in place a few times a second, erased at the end. Reads the live counters
 * the seeds publish (an Int32Array over shared memory: [transfers, violations] per job slot).
 */

export interface LiveSlot {
  /** When its current seed started (performance.now()), or -1 if idle. */
  startedAt: number;
}

export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = performance.now();
  private seedsDone = 0;
  private transfersDone = 0;
  private violationsDone = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly seeds: number,
    private readonly perSeed: { transfers: number | null; seconds: number | null },
    private readonly live: Int32Array,
    private readonly slots: readonly LiveSlot[],
  ) {}

  start(): void {
    this.timer = setInterval(() => this.paint(), 250).unref();
  }

  seedDone(transfers: number, violations: number): void {
    this.seedsDone++;
    this.transfersDone += transfers;
    this.violationsDone += violations;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.out.write('\r\x1b[2K');
  }

  private paint(): void {
    const now = performance.now();
    let transfers = this.transfersDone;
    let violations = this.violationsDone;
    let fraction = this.seedsDone;
    this.slots.forEach((s, i) => {
      if (s.startedAt < 0) return;
      const t = Atomics.load(this.live, i * 2);
      transfers += t;
      violations += Atomics.load(this.live, i * 2 + 1);
      fraction += this.perSeed.transfers !== null ? Math.min(1, t / this.perSeed.transfers) : Math.min(1, (now - s.startedAt) / (this.perSeed.seconds! * 1000));
    });
    const f = fraction / Math.max(1, this.seeds);
    const elapsed = (now - this.t0) / 1000;
    const eta = f > 0.001 ? clock((elapsed * (1 - f)) / f) : '?';
    const total = this.perSeed.transfers !== null ? `/${this.perSeed.transfers * this.seeds}` : '';
    this.out.write(`\r\x1b[2Kstress  seeds ${this.seedsDone}/${this.seeds}  transfers ${transfers}${total}  violations ${violations}  ETA ${eta}`);
  }
}

function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}
