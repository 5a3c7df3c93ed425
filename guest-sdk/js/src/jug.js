// The JavaScript SDK of jug-host: Jug's task model for scripts built into `jug:task`
// components by `jug-js build` (see ../README.md).
//
// A script defines its task functions at the top level, wrapped in `taskGenerator`, and exports
// `graph(args)`, the jugfile: inside it, calling a task generator declares a task and returns a
// `Task`, which can be passed to other task generators (also inside arrays and objects). The
// top level runs once, when the component is built (it is snapshotted), so every task function
// is known in the fresh instance each task runs in.
//
// This module is the SDK's API (`import { ... } from 'jug'`, which jug-js aliases to it); the
// modules beside it implement one part each (see the Layout section of ../README.md).

export {
  TASK_REF_TAG,
  KEY_EXEMPT_TAG,
  CUSTOM_KEY_TAG,
  FILE_INPUT_TAG,
  DIR_GRANT_TAG,
  EncodeError,
} from './cbor.js';
export { Task, Tasklet, iterateTask } from './task.js';
export { noHash, customHash, file, directory } from './arguments.js';
export { IDENTITY, taskGenerator, TaskGenerator, task, identity, component } from './generators.js';
export { bvalue, barrier, compound } from './results.js';
export { mapreduce } from './mapreduce.js';
export { log } from './log.js';
export { __entry } from './runtime.js';

/** This SDK's version; part of every component's declared code digest. */
export const VERSION = '0.1.0';
