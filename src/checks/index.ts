/** The checks language, one import for its callers. */
export * from './parse-expectation';
