// `log`: lines with a level for jug-host's log, through the host's `log` interface.

import { write } from './host.js';

function logger(level) {
  return (...parts) => write(level, parts.map((p) => (typeof p === 'string' ? p : String(p))).join(' '));
}

/** Lines for the host's log (its terminal during build, the task's log in the store during
 *  a task). `console.log`/`console.error` are captured too. */
export const log = Object.freeze({
  debug: logger('debug'),
  info: logger('info'),
  warn: logger('warn'),
  error: logger('error'),
});
