/** Identity: the provider interface and principals (the implementations are in src/identity/). */
export * from './types';
export { sha256Hex } from './tokens-file';
