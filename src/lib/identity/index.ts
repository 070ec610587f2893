/** Identity: the provider interface, principals, and the tokens-file implementation. */
export * from './types';
export { TokensFileIdentityProvider, sha256Hex } from './tokens-file';
