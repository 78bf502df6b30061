/** keygen's default -o; sign looks for PREFIX.key in the working directory when given no key. */
export const DEFAULT_KEY_PREFIX = 'ms-sign';
