/**
 * `create(key)` made once per key object and handed out again while the key lives (a WeakMap:
 * the value goes with its key).
 */
export function perObject<Key extends object, Value>(create: (key: Key) => Value): (key: Key) => Value {
  const made = new WeakMap<Key, Value>();
  return (key) => {
    let value = made.get(key);
    if (value === undefined) {
      value = create(key);
      made.set(key, value);
    }
    return value;
  };
}
