// Node's globals, for packages written for Node (jug-js gives this file to esbuild's `inject`:
// a free `Buffer` or `process` in any bundled module becomes these exports, so only modules
// that use them pull the polyfills in). `buffer` and `process` resolve to the npm polyfills
// pinned in ../package.json (see bin/bundle.mjs). `process.env` is empty, as in a task.

export { Buffer } from 'buffer';
export { default as process } from 'process';
