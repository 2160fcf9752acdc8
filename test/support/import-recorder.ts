import { appendFileSync } from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';

/*
 * Module loader hooks, for node:module `register(url, { data: file })`: every module the process
 * resolves is appended to `file` as `url<TAB>importer` lines, so a test can tell which packages a
 * process loaded. Written synchronously, so a line is on disk before its import settles. Only
 * ESM resolution passes here: a package's own require() calls do not, its entry point does.
 */

let recordTo = '';

export const initialize: InitializeHook<string> = (file) => {
  recordTo = file;
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(recordTo, `${resolved.url}\t${context.parentURL ?? ''}\n`);
  return resolved;
};
