/** The empirical Popek–Goldberg classifier (`virtstrat classify`; docs/popek-goldberg.md). */
export { classify, DEFAULT_SEED, DEFAULT_STATES, MIN_STATES, type ClassifyOptions } from './classify.js';
export { formatClassification } from './format.js';
export type * from './types.js';
