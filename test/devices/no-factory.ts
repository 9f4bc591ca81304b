// A custom device module without a factory: the host must refuse it at attach.
export const descriptor = { kind: 'nofactory', registers: 1, doorbells: [] };
