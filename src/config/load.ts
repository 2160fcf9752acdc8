import { open } from 'node:fs/promises';
import type { z } from 'zod';
import { formatBytes } from '../lib/text.js';
import { loopTurns } from '../lib/turn-slicer.js';
import { checkRulesInTurns, liftPrometheusAdapterKeys } from '../providers/prometheus/config.js';
import { ConfigError } from '../schema/errors.js';
import { DEFAULT_CONFIG_YAML } from './default-config.js';
import { parseYamlOffThread } from './parse-off-thread.js';
import { type AdapterConfig, configSchema } from './schema.js';
import { suggestKnownKey } from './unknown-keys.js';
import { type ParsedYaml, parseYamlText } from './yaml-text.js';

/**
 * The largest config file read: a ConfigMap holds at most 1 MiB, and parsing YAML costs about a
 * hundred times its size in heap, so a file much larger would risk the process on every reload.
 */
export const DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024;

/** `slice` gives the event loop back between steps of the schema check (default: the process's turn slicer). */
export async function loadConfigFile(
  path: string,
  maxBytes = DEFAULT_MAX_CONFIG_BYTES,
  slice: () => Promise<void> | undefined = () => loopTurns.slice(),
): Promise<AdapterConfig> {
  let bytes: Buffer;
  try {
    // At most maxBytes + 1 bytes are read, however large the file is (or grows while read).
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(maxBytes + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      bytes = buffer.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new ConfigError(`config file ${path}: cannot read: ${(error as Error).message}`);
  }
  if (bytes.length > maxBytes) {
    throw new ConfigError(`config file ${path}: larger than ${formatBytes(maxBytes)} (--config-max-bytes); not read`);
  }
  const text = bytes.toString('utf8');
  if (text.replace(/#.*$/gm, '').trim() === '') {
    throw new ConfigError(`config file ${path}: empty; it must configure at least one backend`);
  }
  // Parsed off the event loop (a 1 MiB file held it for seconds on a busy node: /livez with it);
  // the schema check stays here, its rules checked between turns.
  return validateConfigInTurns(await parseYamlOffThread(text), path, slice);
}

/** validateConfig of the adapter's schema, with thousands of Prometheus rules checked a slice at a time. */
async function validateConfigInTurns(
  parsed: ParsedYaml,
  source: string,
  slice: () => Promise<void> | undefined,
): Promise<AdapterConfig> {
  if (!('error' in parsed)) {
    const apart = await checkRulesInTurns(liftPrometheusAdapterKeys(parsed.value), slice);
    if (apart) {
      const result = configSchema.safeParse(apart.rest);
      if (result.success && apart.restore(result.data.prometheus)) return result.data;
    }
  }
  // A refused file is checked whole, so that its message is the schema's.
  return validateConfig(configSchema, parsed, source);
}

export function defaultConfig(): AdapterConfig {
  return parseConfig(DEFAULT_CONFIG_YAML, '<built-in default config>');
}

export function parseConfig(text: string, source: string): AdapterConfig {
  return parseConfigWith(configSchema, text, source);
}

/**
 * A config file read with `schema`: the adapter's own, or one over more backends (configSchemaFor).
 * Throws a ConfigError naming the file, the field and the problem.
 */
export function parseConfigWith<Config>(schema: z.ZodType<Config>, text: string, source: string): Config {
  return validateConfig(schema, parseYamlText(text), source);
}

function validateConfig<Config>(schema: z.ZodType<Config>, parsed: ParsedYaml, source: string): Config {
  if ('error' in parsed) throw new ConfigError(`config file ${source}: invalid YAML: ${parsed.error}`);
  const result = schema.safeParse(parsed.value);
  if (!result.success) {
    throw new ConfigError(`config file ${source}: ${describeIssues(result.error.issues, configSchema)}`);
  }
  return result.data;
}

function describeIssues(issues: readonly z.core.$ZodIssue[], schema: z.core.$ZodType): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const field = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
      return `field ${field}: ${issue.message}${suggestions(issue, schema)}`;
    })
    .join('; ');
}

function suggestions(issue: z.core.$ZodIssue, schema: z.core.$ZodType): string {
  if (issue.code !== 'unrecognized_keys') return '';
  const hints = issue.keys.flatMap((key) => {
    const known = suggestKnownKey(schema, issue.path, key);
    if (known === undefined) return [];
    return [issue.keys.length === 1 ? `"${known}"` : `"${known}" for "${key}"`];
  });
  return hints.length === 0 ? '' : ` (did you mean ${hints.join(', ')}?)`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}
