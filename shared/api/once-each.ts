/**
 * The value for `key` in `cache`, loaded on its first asking and shared by every later one: a
 * lookup's reads of a person, made once an attempt (a map an attempt), so the match's judgement
 * and the answer come from the same read.
 */
export function onceEach<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let value = cache.get(key);
  if (value === undefined) cache.set(key, (value = load()));
  return value;
}
