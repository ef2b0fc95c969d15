/**
 * The error type lives in the contract layer (src/contract/errors.ts); this re-export keeps old
 * import paths working for the time being. Nothing outside cli/ may import it.
 */
export { InputError, inputError, show } from '../contract/errors.js';
