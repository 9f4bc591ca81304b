/**
 * comlink's Endpoint over a Node MessagePort-like object (a Worker or parentPort). comlink's own
 * Node adapter does not load under NodeNext resolution, so this is the ~20 lines it takes. No
 * worker_threads import here: the caller passes the port.
 */

import type { Endpoint } from 'comlink';

interface NodePort {
  postMessage(message: unknown, transfer?: readonly never[]): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  off(event: 'message', listener: (data: unknown) => void): unknown;
}

type Listener = Parameters<Endpoint['addEventListener']>[1];

export function nodeEndpoint(port: NodePort): Endpoint {
  const bound = new WeakMap<object, (data: unknown) => void>();
  return {
    // comlink passes transferables it collected; none of ours transfer (SABs are shared, not moved).
    postMessage: (message: unknown, transfer?: unknown[]) => port.postMessage(message, transfer as never[] | undefined),
    addEventListener: (_type: string, listener: Listener) => {
      const l = (data: unknown) => {
        const ev = { data } as Parameters<Extract<Listener, (...a: never[]) => unknown>>[0];
        if (typeof listener === 'function') listener(ev);
        else listener.handleEvent(ev);
      };
      port.on('message', l);
      bound.set(listener, l);
    },
    removeEventListener: (_type: string, listener: Listener) => {
      const l = bound.get(listener);
      if (!l) return;
      port.off('message', l);
      bound.delete(listener);
    },
  };
}
