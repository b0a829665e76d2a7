/** Suggestions for misspelt names (config keys, options): the closest known name by edit distance. */

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known name closest to `name`, if it is close enough to be a typo: at most a third of its
 * length away (and at most 3 edits), so `hiden_size` finds `hidden_size` but `foo` finds nothing.
 */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  // Long strings cannot be a typo of a short key, and would make the distance slow.
  if (name.length > 64) return undefined;
  const limit = Math.min(3, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `unknown key "hiden_size"; did you mean "hidden_size"?`, or the list of known names when none is close. */
export function unknownNameMessage(kind: string, name: string, known: readonly string[]): string {
  const close = closestName(name, known);
  return close !== undefined
    ? `unknown ${kind} "${name}"; did you mean "${close}"?`
    : `unknown ${kind} "${name}" (known: ${known.join(', ')})`;
}
