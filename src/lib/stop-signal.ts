import { setMaxListeners } from 'node:events';

/**
 * The stop signal of a component whose calls run many at a time — every seriesQuery of a relist,
 * every group-version of a cluster discovery read — each listening on it until it ends. Node
 * warns ("Possible EventTarget memory leak detected") past ten listeners on one signal; this
 * fan-out is not a leak, so the limit is lifted for this one signal, not for the process.
 */
export function sharedStopController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
