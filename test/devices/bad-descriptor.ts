// A custom device whose descriptor is malformed: the host must refuse it at attach.
export const descriptor = { kind: 'bad', registers: 40, doorbells: [] };
export function createDevice() {
  return { onDoorbell() {}, reset() {}, stats: () => ({}) };
}
