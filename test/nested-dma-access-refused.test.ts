/**
 * Regression: device code running inside an access (a typed-array subclass's set(), called by the
 * port with the bytes) could start another access on the same port and overwrite the access record
 * the host relies on to clean up after the worker. A nested access is refused with a RangeError
 * before it touches anything; the outer access withdraws its announcement as it unwinds.
 */

import { describe, expect, it } from 'vitest';
import { physAddr } from '../src/index.js';
import { simulatorsClosedAfterEach } from './helpers.js';
import { lockedPages } from './dma-helpers.js';
import { accessRecord, framesInFlight, mainThreadPort } from './internals.js';

const pool = simulatorsClosedAfterEach();

describe('a DMA access started from inside another one', () => {
  it('is a RangeError; nothing stays announced and the port serves the next access normally', async () => {
    const sim = await pool.make({ pager: 'off' });
    const buf = lockedPages(sim, 2);
    const { port, device } = mainThreadPort(sim);
    let inner: unknown;
    class Reentrant extends Uint8Array {
      override set(array: ArrayLike<number>, offset?: number): void {
        try {
          port.read(physAddr(buf.phys[1]!), new Uint8Array(16));
        } catch (e) {
          inner = e;
          throw e;
        }
        super.set(array, offset);
      }
    }
    expect(() => port.read(physAddr(buf.phys[0]!), new Reentrant(64))).toThrow(/inside another DMA access/);
    expect(inner).toBeInstanceOf(RangeError);
    expect(framesInFlight(sim)).toEqual([]);
    expect(accessRecord(sim, device).spans).toBe(0);
    expect(port.read(physAddr(buf.phys[1]!), new Uint8Array(16))).toEqual({ bytesRead: 16, bytesWritten: 0, ok: true });
    expect(sim.violations()).toEqual([]);
  });
});
