import assert from 'node:assert/strict';
import { ApiError } from '../../src/api/errors.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/schema/errors.js';

/** The message of the ConfigError that loading `yaml` throws; fails the test when it loads. */
export function configError(yaml: string): string {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

/** The ApiError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}
