// Task functions in JavaScript, used by the Python graph pipeline.py: a library component
// with no graph of its own.
import { taskGenerator } from 'jug';

// The summary from Rust's `describe`, as one line of text.
export const format = taskGenerator(function format(summary) {
  const f = (x) => x.toFixed(4);
  return `n=${summary.count} mean=${f(summary.mean)} sd=${f(summary.stdev)} ` +
    `range=[${f(summary.min)}, ${f(summary.max)}]\n`;
});

// Decodes any value and encodes it again: the polyglot test checks that what Python wrote
// comes back from JavaScript byte for byte.
export const echo = taskGenerator(function echo(value) {
  return value;
});
