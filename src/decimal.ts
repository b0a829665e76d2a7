/**
 * Numbers typed by a user (flags, settings) in decimal or scientific notation only: `16`, `-0.5`,
 * `3e-4`. JavaScript's Number() also reads `0x10`, `0b1`, `0o7` and `Infinity`, which nobody
 * means as a learning rate; here they are NaN, so the caller's "must be a number" error names them.
 */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

export function parseDecimal(text: string): number {
  return DECIMAL.test(text.trim()) ? Number(text) : NaN;
}
