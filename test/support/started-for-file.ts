import { after, before } from 'node:test';

// Node starts a file's top-level before hooks side by side, not one after another, and runs its
// after hooks in the order they were registered. The set-up here chains the steps in the order
// they were registered, and closes what they started in the reverse order, from one after hook.
let setUpSoFar: Promise<unknown> = Promise.resolve();
const closeInReverse: (() => Promise<unknown>)[] = [];
let closeHookRegistered = false;

/**
 * A step of an end-to-end file's set-up that starts nothing to close (tokens a kube double
 * accepts, pods it lists): run before the file's first test, after every step registered before.
 */
export function setUpForFile(step: () => Promise<void> | void): void {
  before(() => {
    const done = setUpSoFar.then(step);
    setUpSoFar = done;
    return done;
  });
}

/**
 * What an end-to-end file starts once for all its tests (a cluster harness, an adapter, a
 * Prometheus): started before the file's first test, after every step registered before it,
 * and closed after the file's last test, before anything started earlier (the adapter before
 * the Prometheus it reads), and only if it started. The object returned stands for the started
 * value from then on (property reads and writes go to it, methods are bound to it); using it
 * earlier throws. Call it at the top level of a test file, in the order things must start.
 */
export function startedForFile<T extends { close(): Promise<unknown> }>(start: () => Promise<T>): T;
export function startedForFile<T extends object>(start: () => Promise<T>, close: (started: T) => Promise<unknown>): T;
export function startedForFile<T extends object>(
  start: () => Promise<T>,
  close: (started: T) => Promise<unknown> = (started) => (started as { close(): Promise<unknown> }).close(),
): T {
  let value: T | undefined;
  setUpForFile(async () => {
    const result = await start();
    value = result;
    closeInReverse.unshift(() => close(result));
  });
  if (!closeHookRegistered) {
    closeHookRegistered = true;
    after(async () => {
      for (const closeOne of closeInReverse) await closeOne();
    });
  }
  const started = (key: string | symbol): T => {
    if (value === undefined) throw new Error(`used before it was started (property ${String(key)})`);
    return value;
  };
  return new Proxy({} as T, {
    get(_, key) {
      const target = started(key);
      const field: unknown = Reflect.get(target, key, target);
      return typeof field === 'function' ? field.bind(target) : field;
    },
    set(_, key, field: unknown) {
      return Reflect.set(started(key), key, field);
    },
  });
}
