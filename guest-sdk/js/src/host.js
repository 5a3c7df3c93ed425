// The host's side of the contract (wit/task.wit): imported functions of the component.
// componentize-js maps `result<T, string>` to "returns T or throws a ComponentError whose
// `payload` is the string", `option<T>` to "T or undefined", and kebab-case to camelCase.

import * as graph from 'jug:task/graph@0.1.0';
import { write } from 'jug:task/log@0.1.0';

export { graph, write };
