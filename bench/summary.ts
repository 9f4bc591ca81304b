/** A tinybench task's result reduced to the numbers a benchmark row needs. */

import type { Task } from 'tinybench';

export interface TaskSummary {
  /** Latency in microseconds. */
  readonly medianUs: number;
  readonly p99Us: number;
  /** Throughput in operations per second (median). */
  readonly opsPerSecond: number;
  /** Relative margin of error of the latency mean, percent. */
  readonly rme: number;
  readonly samples: number;
}

export function summarize(t: Task): TaskSummary {
  const r = t.result;
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') {
    const why = r.state === 'errored' ? `: ${String((r as { error?: unknown }).error)}` : '';
    throw new Error(`benchmark task "${t.name}" did not complete (${r.state})${why}`);
  }
  return {
    medianUs: r.latency.p50 * 1000,
    p99Us: r.latency.p99 * 1000,
    opsPerSecond: r.throughput.p50,
    rme: r.latency.rme,
    samples: r.latency.samplesCount,
  };
}
