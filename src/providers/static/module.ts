import type { BackendModule } from '../backend-module.js';
import type { MetricsBackend } from '../provider.js';
import { type StaticBackendConfig, staticBackendSchema } from './config.js';
import { createStaticBackend } from './static-backend.js';

/** Fixed values from the config file; they cannot fail, so no failure policy wraps them. */
export const staticModule: BackendModule<'static', StaticBackendConfig, MetricsBackend> = {
  key: 'static',
  schema: staticBackendSchema,
  create: (section, env) => section && createStaticBackend(section, env.context()),
};
