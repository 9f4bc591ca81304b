/**
 * The nic's fixed register map: e1000 names and offsets, bits, legacy descriptor layouts (manual
 * §3.2.3, §3.3.3), buffer sizes, which writes ring the doorbell, and the register rules.
 */

import { describe, expect, it } from 'vitest';
import { nic as NIC } from '../src/index.js';

describe('nic register map', () => {
  it('names each register by its e1000 name, with its e1000 offset', () => {
    expect(NIC.REGISTER_COUNT).toBe(23);
    expect(Object.values(NIC.REG)).toEqual([...Array(NIC.REGISTER_COUNT).keys()]);
    expect(NIC.E1000_OFFSET).toEqual({
      CTRL: 0x0000,
      STATUS: 0x0008,
      ICR: 0x00c0,
      ICS: 0x00c8,
      IMS: 0x00d0,
      IMC: 0x00d8,
      RCTL: 0x0100,
      TCTL: 0x0400,
      RDBAL: 0x2800,
      RDBAH: 0x2804,
      RDLEN: 0x2808,
      RDH: 0x2810,
      RDT: 0x2818,
      TDBAL: 0x3800,
      TDBAH: 0x3804,
      TDLEN: 0x3808,
      TDH: 0x3810,
      TDT: 0x3818,
      MPC: 0x4010,
      GPRC: 0x4074,
      GPTC: 0x4080,
      ROC: 0x40ac,
    });
    expect(Object.keys(NIC.REG).filter((k) => !(k in NIC.E1000_OFFSET))).toEqual(['DIAG']);
  });

  it('has the manual’s bits', () => {
    expect(NIC.CTRL.RST).toBe(1 << 26);
    expect(NIC.STATUS.LU).toBe(1 << 1);
    expect(NIC.ICR).toEqual({ TXDW: 1, TXQE: 2, LSC: 4, RXDMT0: 16, RXO: 64, RXT0: 128 });
    expect([NIC.RCTL.EN, NIC.RCTL.BSEX, NIC.RCTL.SECRC, NIC.RCTL.BSIZE_MASK, NIC.RCTL.RDMTS_MASK]).toEqual([2, 1 << 25, 1 << 26, 3 << 16, 3 << 8]);
    expect(NIC.TCTL.EN).toBe(2);
    expect(NIC.TXD_CMD).toEqual({ EOP: 1, IFCS: 2, IC: 4, RS: 8, RPS: 16, DEXT: 32, VLE: 64, IDE: 128 });
    expect(NIC.TXD_STA).toEqual({ DD: 1, EC: 2, LC: 4, TU: 8 });
    expect(NIC.RXD_STATUS).toEqual({ DD: 1, EOP: 2, IXSM: 4, VP: 8, TCPCS: 32, IPCS: 64, PIF: 128 });
  });

  it('lays out the 16-byte legacy descriptors byte for byte', () => {
    expect(NIC.TX_DESC).toEqual({ SIZE: 16, ADDR: 0, LENGTH: 8, CSO: 10, CMD: 11, STA: 12, CSS: 13, SPECIAL: 14 });
    expect(NIC.RX_DESC).toEqual({ SIZE: 16, ADDR: 0, LENGTH: 8, CHECKSUM: 10, STATUS: 12, ERRORS: 13, SPECIAL: 14 });
  });

  it('decodes RCTL.BSIZE and BSEX into buffer sizes', () => {
    const { RCTL } = NIC;
    expect([RCTL.BSIZE_2048, RCTL.BSIZE_1024, RCTL.BSIZE_512, RCTL.BSIZE_256].map(NIC.rxBufferSize)).toEqual([2048, 1024, 512, 256]);
    expect([RCTL.BSIZE_1024, RCTL.BSIZE_512, RCTL.BSIZE_256].map((b) => NIC.rxBufferSize(b | RCTL.BSEX))).toEqual([16384, 8192, 4096]);
    expect(NIC.rxBufferSize(RCTL.BSEX)).toBe(2048); // reserved, read as 2048
  });

  it('rings on TDT, TCTL, RDT, ICS, IMS and CTRL with RST only', () => {
    const { REG } = NIC;
    const ringing = new Set<number>([REG.TDT, REG.TCTL, REG.RDT, REG.ICS, REG.IMS]);
    for (let r = 0; r < NIC.REGISTER_COUNT; r++) expect(NIC.rings(r, 0xffff), `register ${r}`).toBe(ringing.has(r));
    expect(NIC.rings(REG.CTRL, NIC.CTRL.RST)).toBe(true);
    expect(NIC.rings(REG.CTRL, ~NIC.CTRL.RST)).toBe(false);
  });

  it('declares ICR read-to-clear and write-1-to-clear, ICS/IMS/IMC as set/clear, counters read-to-clear', () => {
    const { REG } = NIC;
    const rules = NIC.DEVICE.rules!;
    expect(NIC.DEVICE.kind).toBe('nic');
    expect(rules[REG.ICR]).toEqual({ readToClear: true, write: { w1c: 0xffffffff, rw: 0 } });
    expect(rules[REG.ICS]).toEqual({ write: 'set', target: REG.ICR });
    expect(rules[REG.IMS]).toEqual({ write: 'set' });
    expect(rules[REG.IMC]).toEqual({ write: 'clear', target: REG.IMS });
    for (const r of [REG.MPC, REG.GPRC, REG.GPTC, REG.ROC]) expect(rules[r]).toEqual({ readToClear: true, write: 'read-only' });
    for (const r of [REG.STATUS, REG.DIAG]) expect(rules[r]).toEqual({ write: 'read-only' });
  });
});
