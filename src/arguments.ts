/** Checks of what a library caller passes: each failure is a UserError naming the argument. */
import { UserError } from './errors.js';

/** What a wrong argument is, for error messages: "null", "undefined", "a string", "an Array", "a Map". */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an Array';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name === undefined || name === 'Object' ? 'an object' : `a ${name}`;
  }
  return `${/^[aeiou]/.test(typeof value) ? 'an' : 'a'} ${typeof value}`;
}

/** `argument` must be a plain object (options, a config) or undefined. */
export function checkOptionalObject(value: unknown, argument: string): asserts value is Record<string, unknown> | undefined {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new UserError(`${argument} must be an object (got ${kindOf(value)})`);
  }
}

/** `argument` must be a plain object (a config). */
export function checkObject(value: unknown, argument: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UserError(`${argument} must be an object (got ${kindOf(value)})`);
}

/**
 * A value as a message quotes it: JSON, but with the numbers JSON cannot spell (NaN, Infinity)
 * and undefined written as such, where JSON.stringify would print null or nothing.
 */
export function quoteValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  const marked = JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? `\u0000${v}\u0000` : typeof v === 'bigint' ? `\u0000${v}n\u0000` : v,
  );
  return marked === undefined ? String(value) : marked.replace(/"\\u0000(.*?)\\u0000"/g, '$1');
}
