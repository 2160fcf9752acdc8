import type { z } from 'zod';
import { cacheSectionSchema } from '../cache/config.js';
import type { BackendEnvironment, BackendModule } from './backend-module.js';
import { cloudWatchModule } from './cloudwatch/module.js';
import { withFailurePolicy } from './failure-policy/policy-backend.js';
import { prometheusModule } from './prometheus/module.js';
import type { MetricsBackend } from './provider.js';
import { sqsModule } from './sqs/module.js';
import { staticModule } from './static/module.js';

/**
 * Any backend module. Its section and backend types are its own: the registry hands a module only
 * the section its own schema validated, and its policies only the backend its own `create` built.
 */
// biome-ignore lint/suspicious/noExplicitAny: a list of modules of different section and backend types
export type AnyBackendModule = BackendModule<string, any, any>;

/**
 * Every backend the adapter has, in the order the router consults them (the first that serves a
 * metric answers it). The config schema, the cache settings and createBackends are made from
 * this list, so a backend joins by being listed here (or, in a test or at run time, by being
 * handed to them).
 */
export const BACKEND_MODULES = [staticModule, prometheusModule, sqsModule, cloudWatchModule] as const;

type SectionsShape<Modules extends readonly AnyBackendModule[]> = {
  [M in Modules[number] as M['key']]: z.ZodOptional<M['schema']>;
};

/** One optional config section per module, for the config file's top-level schema to spread in. */
export function backendSections<const Modules extends readonly AnyBackendModule[]>(
  modules: Modules,
): SectionsShape<Modules> {
  return Object.fromEntries(modules.map((m) => [m.key, m.schema.optional()])) as SectionsShape<Modules>;
}

/** The `cache:` section: the budget, `default`, and one level per module (`cache.sqs`). */
export function cacheSectionFor<const Modules extends readonly AnyBackendModule[]>(modules: Modules) {
  return cacheSectionSchema(modules.map((m): Modules[number]['key'] => m.key));
}

/** The `cache:` section of the adapter's own backends. */
export const cacheConfigSchema = cacheSectionFor(BACKEND_MODULES);

/**
 * Every backend the config turns on, in the order of `modules`: each module whose section is set
 * (or that runs without one) builds its backend through createBackend.
 */
export async function createBackends(
  config: Readonly<Record<string, unknown>>,
  env: BackendEnvironment,
  modules: readonly AnyBackendModule[] = BACKEND_MODULES,
): Promise<MetricsBackend[]> {
  const backends: MetricsBackend[] = [];
  for (const module of modules) {
    const section = config[module.key];
    if (section === undefined && !module.runsWithoutSection) continue;
    const backend = await createBackend(module, section, env);
    if (backend) backends.push(backend);
  }
  return backends;
}

/**
 * One module's backend for a validated section (`module.schema`): on its own cache (`cacheFor(key)`),
 * answering failures and missing data as each metric's policy says. The one way a backend is
 * built, from the config file or at run time.
 */
export async function createBackend<Section, Backend extends MetricsBackend>(
  module: BackendModule<string, Section, Backend>,
  section: Section | undefined,
  env: BackendEnvironment,
): Promise<MetricsBackend | undefined> {
  const backend = await module.create(section, {
    ...env,
    context: () => ({ ...env, cache: env.cacheFor(module.key) }),
  });
  if (!backend || !module.failurePolicies) return backend;
  return withFailurePolicy(backend, module.failurePolicies(section, backend), env);
}
