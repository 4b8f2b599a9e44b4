/**
 * "Did you mean ...?" suggestions by edit distance (Damerau–Levenshtein, optimal string alignment).
 */

/** Edit distance with adjacent transpositions counting as one edit; stops early above `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const w = b.length + 1;
  let before = new Int32Array(w); // row i - 2
  let prev = new Int32Array(w); // row i - 1
  let row = new Int32Array(w); // row i
  for (let j = 0; j < w; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let best = i;
    for (let j = 1; j < w; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      row[j] = d;
      if (d < best) best = d;
    }
    if (best > limit) return limit + 1;
    [before, prev, row] = [prev, row, before];
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word` (case-insensitive) within a small distance, or undefined.
 * Ties go to the earliest candidate, so callers list the most likely ones first.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = w.length <= 2 ? 1 : w.length <= 5 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(w, c.toLowerCase(), bestDistance - 1);
    if (d < bestDistance && d < Math.max(w.length, c.length)) {
      best = c;
      bestDistance = d;
      if (d === 0) break;
    }
  }
  return best;
}

/** " (did you mean 'x'?)" or "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean '${c}'?)`;
}
