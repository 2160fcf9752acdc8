import { distance } from 'fastest-levenshtein';
import type { z } from 'zod';

/**
 * "Did you mean": a strict object's issue names the unknown key but not the keys it knows, so
 * they are read from the schema itself, following the path. Works for any schema built
 * from zod's objects, arrays, records, unions and wrappers, so new config sections need no list.
 */
export function suggestKnownKey(
  schema: z.core.$ZodType,
  path: readonly PropertyKey[],
  key: string,
): string | undefined {
  const close = [...knownKeysAt(schema, path)].filter((known) => distance(known, key) === 1);
  return close.length === 1 ? close[0] : undefined;
}

function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): Set<string> {
  const keys = new Set<string>();
  for (const object of objectsAt(schema, path)) for (const key of Object.keys(object.shape)) keys.add(key);
  return keys;
}

// The fields of zod's definitions that hold other schemas, by definition type.
interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  getter?: () => z.core.$ZodType;
  options?: readonly z.core.$ZodType[];
  left?: z.core.$ZodType;
  right?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  items?: readonly z.core.$ZodType[];
}

/** The object schemas that may stand at `path` (several where a union or a pipe offers them). */
function objectsAt(
  schema: z.core.$ZodType,
  path: readonly PropertyKey[],
): { shape: Record<string, z.core.$ZodType> }[] {
  const def = schema._zod.def as Def;
  const next = (inner: z.core.$ZodType | undefined, rest = path) => (inner === undefined ? [] : objectsAt(inner, rest));
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return next(def.innerType);
    case 'pipe':
      return [...next(def.in), ...next(def.out)];
    case 'lazy':
      return next(def.getter?.());
    case 'union':
      return (def.options ?? []).flatMap((option) => next(option));
    case 'intersection':
      return [...next(def.left), ...next(def.right)];
    default:
  }
  if (path.length === 0) return def.type === 'object' && def.shape ? [{ shape: def.shape }] : [];
  const [step, ...rest] = path;
  if (def.type === 'object') return next(def.shape?.[String(step)], rest);
  if (def.type === 'record') return next(def.valueType, rest);
  if (def.type === 'array') return next(def.element, rest);
  if (def.type === 'tuple') return next(def.items?.[Number(step)], rest);
  return [];
}
