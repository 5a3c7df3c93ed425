// A mistake tsc must reject (test/types.test.mjs checks that it does, and why): the
// declarations are worth nothing if a string result can go where a number is taken.
import { taskGenerator, type Graph } from 'jug';

const add = taskGenerator(function add(a: number, b: number): number {
  return a + b;
});
const greet = taskGenerator(function greet(name: string): string {
  return `hello ${name}`;
});

export const graph: Graph = () => {
  add(greet('world'), 1);
};
