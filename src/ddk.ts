/**
 * DDK constants under their original names and values (VMM.H, Windows 95 DDK). Citations are the
 * section numbers of ../shared/spec/vmm-ddk.md, which names the header or page for each value.
 * Kept as plain `const` numbers so they read exactly as driver code written against the DDK does.
 */

// §3.1 page types
export const PG_VM = 0;
export const PG_SYS = 1;
export const PG_RESERVED1 = 2;
export const PG_PRIVATE = 3;
export const PG_RESERVED2 = 4;
export const PG_RELOCK = 5;
export const PG_INSTANCE = 6;
export const PG_HOOKED = 7;
export const PG_IGNORE = 0xffffffff;

// §3.2 PAGE* flags
export const PAGEZEROINIT = 0x00000001;
export const PAGEUSEALIGN = 0x00000002;
export const PAGECONTIG = 0x00000004;
export const PAGEFIXED = 0x00000008;
export const PAGEDEBUGNULFAULT = 0x00000010;
export const PAGEZEROREINIT = 0x00000020;
export const PAGENOCOPY = 0x00000040;
export const PAGELOCKED = 0x00000080;
export const PAGELOCKEDIFDP = 0x00000100;
export const PAGESETV86PAGEABLE = 0x00000200;
export const PAGECLEARV86PAGEABLE = 0x00000400;
export const PAGESETV86INTSLOCKED = 0x00000800;
export const PAGECLEARV86INTSLOCKED = 0x00001000;
export const PAGEMARKPAGEOUT = 0x00002000;
export const PAGEPDPSETBASE = 0x00004000;
export const PAGEPDPCLEARBASE = 0x00008000;
export const PAGEDISCARD = 0x00010000;
export const PAGEPDPQUERYDIRTY = 0x00020000;
export const PAGEMAPFREEPHYSREG = 0x00040000;
export const PAGEPHYSONLY = 0x04000000;
export const PAGENOMOVE = 0x10000000;
export const PAGEMAPGLOBAL = 0x40000000;
export const PAGEMARKDIRTY = 0x80000000;

// §3.3 _PageReserve
export const PR_PRIVATE = 0x80000400;
export const PR_SHARED = 0x80060000;
export const PR_SYSTEM = 0x80080000;
export const PR_FIXED = 0x00000008;
export const PR_4MEG = 0x00000001;
export const PR_STATIC = 0x00000010;

// §3.4 default pagers
export const PD_ZEROINIT = 1;
export const PD_NOINIT = 2;
export const PD_FIXEDZERO = 3;
export const PD_FIXED = 4;

// §3.5 PC_* flags
export const PC_FIXED = 0x00000008;
export const PC_LOCKED = 0x00000080;
export const PC_LOCKEDIFDP = 0x00000100;
export const PC_WRITEABLE = 0x00020000;
export const PC_USER = 0x00040000;
export const PC_INCR = 0x40000000;
export const PC_PRESENT = 0x80000000;
export const PC_STATIC = 0x20000000;
export const PC_DIRTY = 0x08000000;

// §3.6 _PageCommitContig
export const PCC_ZEROINIT = 0x00000001;
export const PCC_NOLIN = 0x10000000;

// §3.7 _PageQuery
export const PAGE_NOACCESS = 0x01;
export const PAGE_READONLY = 0x02;
export const PAGE_READWRITE = 0x04;
export const MEM_COMMIT = 0x1000;
export const MEM_RESERVE = 0x2000;
export const MEM_FREE = 0x10000;
export const MEM_PRIVATE = 0x20000;
/** sizeof(MEMORY_BASIC_INFORMATION): 7 DWORDs. */
export const MBI_SIZE = 28;

// §2 page-table entry bits
export const P_PRES = 0x001;
export const P_WRITE = 0x002;
export const P_USER = 0x004;
export const P_ACC = 0x020;
export const P_DIRTY = 0x040;
export const P_AVAIL = P_PRES | P_WRITE | P_USER;

// §1.2 arenas (page numbers; the …LADDR forms are these << 12)
export const MINDOSPAGE = 0x00000;
export const MAXDOSPAGE = 0x003ff;
export const MINPRIVATEPAGE = 0x00400;
export const MAXPRIVATEPAGE = 0x7ffff;
export const MINSHAREDPAGE = 0x80000;
export const MAXSHAREDPAGE = 0xbffff;
export const MINSYSTEMPAGE = 0xc0000;
export const MAXSYSTEMPAGE = 0xffbff;
/** First page of the permanently invalid last 4 MiB (§1.3). */
export const MININVALIDPAGE = 0xffc00;
export const MINDOSLADDR = 0x00000000;
export const MAXDOSLADDR = 0x003fffff;
export const MINPRIVATELADDR = 0x00400000;
export const MAXPRIVATELADDR = 0x7fffffff;
export const MINSHAREDLADDR = 0x80000000;
export const MAXSHAREDLADDR = 0xbfffffff;
export const MINSYSTEMLADDR = 0xc0000000;
export const MAXSYSTEMLADDR = 0xffbfffff;
/** The canonical "invalid pointer" the DDK recommends (§6.2 item 2). */
export const INVALID_LINEAR_POINTER = 0xfffe0000;

/** _PageReserve / _PageAllocate failure values (§0.1). */
export const RESERVE_FAILED = 0xffffffff;
export const COMMITCONTIG_FAILED = 0xffffffff;
export const MODIFYPERM_FAILED = 0xffffffff;
export const MAPPHYS_FAILED = 0xffffffff;

// §5.3 VDMAD error codes (VDMAD.H; returned in AL with carry set). The ring-0 services documented
// to return them are Lock_DMA_Region (1–3), Request_Buffer (5, 6) and Copy_To/From_Buffer (0x0A,
// 0x0B); the others are the VDS (INT 4Bh) list, which dmasim's unlock services also use (vdmad.ts).
export const DMA_Not_Contiguous = 0x01;
export const DMA_Not_Aligned = 0x02;
export const DMA_Lock_Failed = 0x03;
export const DMA_No_Buffer = 0x04;
export const DMA_Buffer_Too_Small = 0x05;
export const DMA_Buffer_In_Use = 0x06;
export const DMA_Invalid_Region = 0x07;
export const DMA_Region_Not_Locked = 0x08;
export const DMA_Table_Too_Small = 0x09;
export const DMA_Invalid_Buffer = 0x0a;
export const DMA_Copy_Out_Range = 0x0b;
export const DMA_Invalid_Channel = 0x0c;
export const DMA_Disable_Cnt_Overflow = 0x0d;
export const DMA_Disable_Cnt_Underflow = 0x0e;
export const DMA_Func_Not_Supported = 0x0f;
export const DMA_NonZero_Reserved_Flags = 0x10;

// §5.3 VDMAD_Scatter_Lock / VDMAD_Scatter_Unlock flags (AL; VDMAD.H)
/** A PTE table (one DWORD per page) instead of a region list. */
export const DMA_SL_Get_PgTable = 0x01;
/** Leave not-present pages as 0 holes instead of faulting them in (only with DMA_SL_Get_PgTable). */
export const DMA_SL_Allow_NPs = 0x02;
/** Scatter_Unlock only: do not mark the pages dirty. */
export const DMA_SL_Dont_Dirty = 0x04;

/**
 * §5.2 Extended_DDS_Struc (VDMAD.H), the EDDS a driver builds for Scatter_Lock: byte offsets of its
 * fields (DDS_size and DDS_linear DWORDs, DDS_seg, DDS_avail and DDS_used WORDs, a reserved WORD at
 * 0x0A) and of its table. A region-list entry is two DWORDs {physical address, length}; a PTE-list
 * entry is one DWORD.
 */
export const EDDS = { DDS_size: 0x00, DDS_linear: 0x04, DDS_seg: 0x08, DDS_avail: 0x0c, DDS_used: 0x0e, table: 0x10 } as const;
