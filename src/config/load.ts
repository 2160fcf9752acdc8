import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { DEFAULT_CONFIG_YAML } from './default-config.js';
import { type AdapterConfig, configSchema } from './schema.js';

/** A config file that cannot be used; the message names the file, the field and the problem. */
export class ConfigError extends Error {}

export async function loadConfigFile(path: string): Promise<AdapterConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`config file ${path}: cannot read: ${(error as Error).message}`);
  }
  return parseConfig(text, path);
}

export function defaultConfig(): AdapterConfig {
  return parseConfig(DEFAULT_CONFIG_YAML, '<built-in default config>');
}

export function parseConfig(text: string, source: string): AdapterConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    throw new ConfigError(`config file ${source}: invalid YAML: ${first?.message ?? 'unknown error'}`);
  }
  const raw: unknown = document.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(`config file ${source}: ${describeIssues(result.error.issues)}`);
  }
  return result.data;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const field = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
      return `field ${field}: ${issue.message}`;
    })
    .join('; ');
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}
