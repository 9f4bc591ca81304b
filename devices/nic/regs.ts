/**
 * nic register map: an Intel 8254x (e1000) with legacy descriptors, byte for byte, on a 32-bit
 * register file of 23 words. Register names, bits and descriptor layouts are the 8254x Software
 * Developer's Manual's (§13 registers, §3.2.3 receive and §3.3.3 transmit legacy descriptors);
 * each register's real e1000 offset is kept beside it (E1000_OFFSET). Fixed, so that tests outside
 * this project can program the device.
 */

import type { DeviceDescriptor } from '../../src/device-api.js';
import { rings as ringsBy } from '../../src/descriptor.js';

/** Register indices (the e1000 MMIO offset of each in the comment and in E1000_OFFSET). */
export const REG = {
  /** 0x0000 Device Control: RST (bit 26) resets the device and self-clears; other bits are stored. */
  CTRL: 0,
  /** 0x0008 Device Status, read-only: LU (bit 1) while a peer holds the other end of the link. */
  STATUS: 1,
  /** 0x00C0 Interrupt Cause Read: read-to-clear; writing 1s clears those bits too. */
  ICR: 2,
  /** 0x00C8 Interrupt Cause Set: a write ORs its bits into ICR (and rings: the line is re-evaluated). */
  ICS: 3,
  /** 0x00D0 Interrupt Mask Set/Read: a write ORs into the mask (and rings); a read returns the mask. */
  IMS: 4,
  /** 0x00D8 Interrupt Mask Clear: a write clears its bits in IMS. */
  IMC: 5,
  /** 0x0100 Receive Control: EN, RDMTS, BSIZE, BSEX, SECRC. */
  RCTL: 6,
  /** 0x0400 Transmit Control: EN (a write rings: queued descriptors go once EN is set). */
  TCTL: 7,
  /** 0x2800 Receive Descriptor Base Low: the ring's physical address, 16-byte aligned. */
  RDBAL: 8,
  /** 0x2804 Receive Descriptor Base High: must be 0 (no memory above 4 GiB). */
  RDBAH: 9,
  /** 0x2808 Receive Descriptor Length, bytes: a non-zero multiple of 128 below 2^20. */
  RDLEN: 10,
  /** 0x2810 Receive Descriptor Head: the next descriptor the device fills. */
  RDH: 11,
  /** 0x2818 Receive Descriptor Tail: one past the last descriptor handed to the device (rings). */
  RDT: 12,
  /** 0x3800 Transmit Descriptor Base Low. */
  TDBAL: 13,
  /** 0x3804 Transmit Descriptor Base High: must be 0. */
  TDBAH: 14,
  /** 0x3808 Transmit Descriptor Length, bytes: a non-zero multiple of 128 below 2^20. */
  TDLEN: 15,
  /** 0x3810 Transmit Descriptor Head: the next descriptor the device sends. */
  TDH: 16,
  /** 0x3818 Transmit Descriptor Tail: one past the last descriptor queued (rings: transmit). */
  TDT: 17,
  /** 0x4010 Missed Packets Count, read-to-clear: frames dropped for want of receive descriptors. */
  MPC: 18,
  /** 0x4074 Good Packets Received Count, read-to-clear. */
  GPRC: 19,
  /** 0x4080 Good Packets Transmitted Count, read-to-clear. */
  GPTC: 20,
  /** 0x40AC Receive Oversize Count, read-to-clear: frames longer than MAX_FRAME dropped. */
  ROC: 21,
  /** Not an e1000 register (dmasim only), read-only: why the last ring operation was refused (DIAG_CODE | DIAG_RX). */
  DIAG: 22,
} as const;
export const REGISTER_COUNT = 23;

/** The 8254x MMIO offset of every register but DIAG (which the e1000 does not have). */
export const E1000_OFFSET: Readonly<Record<Exclude<keyof typeof REG, 'DIAG'>, number>> = {
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
};

export const CTRL = { RST: 1 << 26 } as const;
export const STATUS = { LU: 1 << 1 } as const;

/** ICR / ICS / IMS / IMC bits. */
export const ICR = {
  /** Transmit descriptor written back (a descriptor with RS was done). */
  TXDW: 1 << 0,
  /** Transmit queue empty: the device caught up with TDT. */
  TXQE: 1 << 1,
  /** Link status change (STATUS.LU moved). */
  LSC: 1 << 2,
  /** Receive descriptors at the minimum threshold (RCTL.RDMTS). */
  RXDMT0: 1 << 4,
  /** Receiver overrun: a frame was missed for want of descriptors (MPC counts it). */
  RXO: 1 << 6,
  /** Receiver timer: a frame was received (no delay timers: at once). */
  RXT0: 1 << 7,
} as const;

export const RCTL = {
  EN: 1 << 1,
  /** Receive descriptor minimum threshold size, bits 9:8: RXDMT0 when free ≤ 1/2, 1/4, 1/8 of the ring. */
  RDMTS_MASK: 3 << 8,
  RDMTS_HALF: 0 << 8,
  RDMTS_QUARTER: 1 << 8,
  RDMTS_EIGHTH: 2 << 8,
  /** Buffer size, bits 17:16 (see rxBufferSize). */
  BSIZE_MASK: 3 << 16,
  BSIZE_2048: 0 << 16,
  BSIZE_1024: 1 << 16,
  BSIZE_512: 2 << 16,
  BSIZE_256: 3 << 16,
  /** Buffer size extension: BSIZE × 16 (01 = 16384, 10 = 8192, 11 = 4096). */
  BSEX: 1 << 25,
  /** Strip Ethernet CRC: accepted; no FCS is carried on the link, so there is nothing to strip. */
  SECRC: 1 << 26,
} as const;

export const TCTL = { EN: 1 << 1 } as const;

/** Receive buffer size in bytes for an RCTL value (BSEX with BSIZE 00 is reserved: read as 2048, as QEMU does). */
export function rxBufferSize(rctl: number): number {
  const bsize = (rctl >>> 16) & 3;
  if (bsize === 0) return 2048;
  return (2048 >>> bsize) * (rctl & RCTL.BSEX ? 16 : 1);
}

/** Legacy transmit descriptor (manual §3.3.3): byte offsets of its fields; 16 bytes, little-endian. */
export const TX_DESC = { SIZE: 16, ADDR: 0, LENGTH: 8, CSO: 10, CMD: 11, STA: 12, CSS: 13, SPECIAL: 14 } as const;
/** TX_DESC.CMD bits. */
export const TXD_CMD = {
  /** End of packet: the last descriptor of a frame. */
  EOP: 1 << 0,
  /** Insert FCS: accepted and ignored (the link carries frames without an FCS). */
  IFCS: 1 << 1,
  /** Insert checksum at CSO: not modelled; the frame leaves as the driver wrote it. */
  IC: 1 << 2,
  /** Report status: the device writes DD back into STA when done with the descriptor. */
  RS: 1 << 3,
  /** Report packet sent (82544 only; reserved elsewhere): ignored. */
  RPS: 1 << 4,
  /** Extended descriptor (context / data): not supported, refused (DIAG DESCRIPTOR_EXTENDED). */
  DEXT: 1 << 5,
  /** VLAN packet enable: not modelled (ignored). */
  VLE: 1 << 6,
  /** Interrupt delay enable: ignored (no delay timers; interrupts are immediate). */
  IDE: 1 << 7,
} as const;
/** TX_DESC.STA bits (DD written back; EC, LC, TU cleared — there are no collisions on this wire). */
export const TXD_STA = { DD: 1 << 0, EC: 1 << 1, LC: 1 << 2, TU: 1 << 3 } as const;

/** Receive descriptor (manual §3.2.3): byte offsets; 16 bytes, little-endian. */
export const RX_DESC = { SIZE: 16, ADDR: 0, LENGTH: 8, CHECKSUM: 10, STATUS: 12, ERRORS: 13, SPECIAL: 14 } as const;
/** RX_DESC.STATUS bits. The device writes DD on every descriptor it fills, EOP | IXSM on a frame's last. */
export const RXD_STATUS = {
  DD: 1 << 0,
  EOP: 1 << 1,
  /** Ignore checksum indication: set (no receive checksum offload is modelled). */
  IXSM: 1 << 2,
  VP: 1 << 3,
  TCPCS: 1 << 5,
  IPCS: 1 << 6,
  PIF: 1 << 7,
} as const;

/** Longest frame, bytes, either way (no FCS on the link; no long-packet or jumbo mode). */
export const MAX_FRAME = 1518;
/** Ring lengths are multiples of this (manual: RDLEN/TDLEN bits 6:0 are zero). */
export const RING_LENGTH_UNIT = 128;
/** RDLEN/TDLEN is a 20-bit field (bits 19:7). */
export const RING_LENGTH_LIMIT = 1 << 20;
/** Ring bases are 16-byte aligned. */
export const RING_ALIGN = 16;

/**
 * DIAG codes (bits 7:0). A refused ring operation processes nothing of that ring: no descriptor
 * or buffer is written, the head stays, the refusal is counted (stats ringErrors).
 */
export const DIAG_CODE = {
  NONE: 0,
  /** TDLEN is not a non-zero multiple of 128 below 2^20. */
  TX_RING_LENGTH: 1,
  /** RDLEN is not a non-zero multiple of 128 below 2^20. */
  RX_RING_LENGTH: 2,
  /** TDH or TDT is not below TDLEN / 16. */
  TX_HEAD_TAIL_RANGE: 3,
  /** RDH or RDT is not below RDLEN / 16. */
  RX_HEAD_TAIL_RANGE: 4,
  /** TDBAL or RDBAL is not 16-byte aligned. */
  RING_BASE_MISALIGNED: 5,
  /** A base or buffer address above 4 GiB (BAH, a descriptor's high dword, or a ring running past 4 GiB): no such memory. */
  ADDRESS_HIGH: 6,
  /** A transmit frame longer than MAX_FRAME. */
  FRAME_TOO_LONG: 7,
  /** A descriptor or buffer access was refused by the DMA checks (see sim.violations()). */
  DMA_REFUSED: 8,
  /** A transmit descriptor with DEXT (extended descriptors are not supported). */
  DESCRIPTOR_EXTENDED: 9,
} as const;
/** DIAG bit 8: the refusal was on the receive side (clear: transmit). */
export const DIAG_RX = 1 << 8;

/**
 * What the host needs to know about the kind. Doorbells: TDT (transmit), TCTL (EN may release
 * queued descriptors), RDT (descriptors handed over: the device's accesses are then attributed to
 * that write in reports), ICS and IMS (re-evaluate the line), CTRL with RST.
 */
export const DEVICE: DeviceDescriptor = {
  kind: 'nic',
  registers: REGISTER_COUNT,
  doorbells: [{ register: REG.CTRL, mask: CTRL.RST }, { register: REG.ICS }, { register: REG.IMS }, { register: REG.TCTL }, { register: REG.RDT }, { register: REG.TDT }],
  rules: {
    [REG.STATUS]: { write: 'read-only' },
    [REG.ICR]: { readToClear: true, write: { w1c: 0xffffffff, rw: 0 } },
    [REG.ICS]: { write: 'set', target: REG.ICR },
    [REG.IMS]: { write: 'set' },
    [REG.IMC]: { write: 'clear', target: REG.IMS },
    [REG.MPC]: { readToClear: true, write: 'read-only' },
    [REG.GPRC]: { readToClear: true, write: 'read-only' },
    [REG.GPTC]: { readToClear: true, write: 'read-only' },
    [REG.ROC]: { readToClear: true, write: 'read-only' },
    [REG.DIAG]: { write: 'read-only' },
  },
};

/** Does a write of `value` to register `index` ring the doorbell? */
export function rings(index: number, value: number): boolean {
  return ringsBy(DEVICE.doorbells, index, value);
}
