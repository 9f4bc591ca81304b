/**
 * dmasim: a multi-threaded hardware DMA simulator. Windows 95 VMM page services over simulated
 * physical memory in a SharedArrayBuffer; devices in worker threads DMA straight into it; a device
 * that touches memory its driver no longer (or never) locked is caught at that access.
 */

export { createSimulator } from './simulator.js';
export type { Simulator, SimulatorOptions, DriverContext, PagerControl, OutstandingLock, TraceControl, WaitUntilOptions } from './simulator.js';
export { DeterministicError } from './sched/scheduler.js';
export type { DeterministicOptions, RunOutcome, ScheduleRecord, EntityInfo } from './sched/scheduler.js';
export type { StrategySpec } from './sched/strategy.js';
export { replay, firstViolation, REPLAY_FIELDS } from './sched/replay.js';
export type { ReplayOptions, ReplayResult } from './sched/replay.js';
export type { VmmServices } from './vmm/services.js';
export type { VdmadServices, VdmadError, VdmadErrorCode, VdmadService } from './vmm/vdmad.js';
export { SCATTER_LOCK } from './vmm/vdmad.js';
export { NUL_PAGE_HANDLE, SYS_VM_HANDLE } from './vmm/services.js';
export type { Cpu } from './cpu.js';
export type { PagerPolicy, PagerStats } from './vmm/core.js';
export { PageFault, SimulatorError } from './errors.js';
export type { VmmError, VmmErrorCode, PageFaultReason } from './errors.js';
export { renderViolation } from './report.js';
export type { Violation, ViolationCode, ViolationCounts, ViolationAccess, FrameSnapshot, DeviceRef, DeviceFault, FaultKind } from './report.js';
export { TRACE_KINDS, TRACE_FIELDS, DMA_OUTCOMES, FAULT_KINDS } from './trace.js';
export type { TraceEvent, TraceKind, TraceStats, DmaOutcome } from './trace.js';
export { physAddr, frame, frameOf, frameBase, HANDOUT_NEVER } from './address.js';
export type { PhysAddr, Frame, Epoch, LinAddr, LinPage } from './address.js';
export { VIOLATION_CODES } from './ring.js';
export { DeviceError } from './host/host.js';
export type { AttachOptions, DeviceHandle, DeviceErrorCode } from './host/host.js';
export type { ViolationMode } from './layout.js';
export type { IsaDma, IsaDmaResult, WakeSource, DmaPort, DmaResult, DmaValueResult, Registers, InterruptLine, DeviceContext, DeviceModel, DeviceFactory, DeviceDescriptor, DeviceModule, DoorbellRule, RegisterRule, LinkPort, SgElement, DmaSource, DmaAttributes, CopyAttributes } from './device-api.js';
export type { Link, LinkEndpoint, LinkSide, HostLinkPort } from './link.js';
export { DescriptorError } from './descriptor.js';
export * from './ddk.js';
export * as copyEngine from '../devices/copy-engine/regs.js';
export * as testProbe from '../devices/test-probe/regs.js';
export * as isaAudio from '../devices/isa-audio/regs.js';
export * as ideBusmaster from '../devices/ide-busmaster/regs.js';
export * as nic from '../devices/nic/regs.js';
export { DMA_MODE, PAGE_PORTS, I8237_REG } from './isa/i8237.js';
export { REPORT_SCHEMA_VERSION } from './report/types.js';
export type { SimReport, Leak, LeakCode } from './report/types.js';
export { renderLeak } from './leaks.js';
export { explore } from './sched/explore.js';
export type { ExploreOptions, ExploreResult, ExploreProgress, FoundViolation, ShrinkSummary } from './sched/explore.js';
export { defineScenario, loadScenario, runScenario } from './sched/scenario.js';
export type { Scenario, ScenarioRef, ScenarioRunOptions, ScenarioRun } from './sched/scenario.js';
