/** Small deterministic PRNG (mulberry32, shared with the classifier), so randomized tests reproduce from their seed. */
export { randInt, rng } from '../../src/classify/rng.js';

export const pick = <T,>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
