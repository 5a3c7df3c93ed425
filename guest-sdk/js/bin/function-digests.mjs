// An identity per task function, over the esbuild bundle (custom section `jug-function-digests`,
// read by jug-host: a task of a listed function is keyed by that function's identity instead of
// the component's, so editing one function re-runs its tasks only).
//
// For each `taskGenerator(function name(...) {...})` or `taskGenerator('name', f)` at the top
// level of the bundle, the identity is a sha256 over:
// - `base`: the SDK, tool and WIT versions, the componentize options, the SDK's sources and the
//   entry module (every task runs through them, reached from its statement or not);
// - the source text of every top-level statement of the bundle the task's statement reaches:
//   statements that bind an identifier a reached statement uses (helpers, constants, classes,
//   the SDK's own code), and plain statements (not declarations) that use such an identifier
//   other than as the function they call (`config.x = 2` may change what a task reads), and
//   any statement that assigns such an identifier (esbuild's lazy initialiser of a module
//   required from CommonJS assigns the names the module's importers read).
// esbuild prints the bundle itself, so comments and formatting in the sources change nothing,
// while any edit to reached code does. Identifiers are resolved with scopes (eslint-scope), so
// a local that shares a top-level name is not a use of it. A reached statement that mentions
// `eval` counts the whole bundle. The source map appended for
// stack traces is left out: it only shapes the text of a failure, never a result.

import { createHash } from 'node:crypto';

import * as acorn from 'acorn';
import * as walk from 'acorn-walk';
import * as eslintScope from 'eslint-scope';

// Only a direct `eval` can reach the bindings of a module: `Function` and `globalThis` see the
// global scope, which module-level bindings are not part of.
const DYNAMIC = new Set(['eval']);

/** For each top-level statement: the top-level names it binds, those it reads, and those it
 *  may change, resolved with scopes (eslint-scope): a local that shares a top-level name is not
 *  a use of it. */
function topLevelUses(program, statements) {
  const manager = eslintScope.analyze(program, { ecmaVersion: 2022, sourceType: 'module' });
  const module = manager.scopes.find((scope) => scope.type === 'module') ?? manager.globalScope;
  const callees = new Set();
  walk.full(program, (n) => {
    if (n.type === 'CallExpression' || n.type === 'NewExpression') callees.add(n.callee);
  });
  const starts = statements.map((s) => s.start);
  const statementOf = (position) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= position) low = mid;
      else high = mid - 1;
    }
    return low;
  };
  const binds = statements.map(() => new Set());
  const uses = statements.map(() => ({ all: new Set(), touched: new Set(), written: new Set() }));
  for (const variable of module.variables) {
    for (const def of variable.defs) binds[statementOf(def.name.start)].add(variable.name);
    for (const reference of variable.references) {
      const at = uses[statementOf(reference.identifier.start)];
      // What a statement depends on is what it reads; what it may change is what it writes,
      // and what it reads other than as a function to call (`config.x = 2`, `push(list)`).
      if (reference.isRead()) at.all.add(variable.name);
      if (reference.isWrite() || (reference.isRead() && !callees.has(reference.identifier))) {
        at.touched.add(variable.name);
      }
      if (reference.isWrite()) at.written.add(variable.name);
    }
  }
  return { binds, uses };
}

/** Whether a statement mentions `eval` at all. */
function dynamic(statement) {
  let found = false;
  walk.full(statement, (n) => {
    if (n.type === 'Identifier' && DYNAMIC.has(n.name)) found = true;
  });
  return found;
}

/** `__name(f, "f")` (esbuild's keepNames wrapper) → f. */
function unwrapName(node) {
  if (node?.type === 'CallExpression' && node.callee.type === 'Identifier' && /^__name\d*$/.test(node.callee.name)) {
    return node.arguments[0];
  }
  return node;
}

/** The task functions a top-level statement defines: `taskGenerator(...)` calls in it. A
 *  function's name is the one keepNames gives it at run time (`__name(f, "is_prime")`: esbuild
 *  may rename the expression itself), else its own. */
function taskNames(statement) {
  const names = [];
  walk.simple(statement, {
    CallExpression(call) {
      if (call.callee.type !== 'Identifier' || !/^taskGenerator\d*$/.test(call.callee.name)) return;
      const [first] = call.arguments;
      const kept = first?.type === 'CallExpression' && first !== unwrapName(first) ? first.arguments[1] : null;
      const inner = unwrapName(first);
      if (inner?.type === 'Literal' && typeof inner.value === 'string') names.push(inner.value);
      else if (kept?.type === 'Literal' && typeof kept.value === 'string') names.push(kept.value);
      else if (inner?.type === 'FunctionExpression' && inner.id) names.push(inner.id.name);
    },
  });
  return names;
}

/** `{ task function name: "sha256:<hex>" }` for the bundle `code` (see the module docs); `{}`
 *  if it cannot be parsed. */
export function functionDigests(code, base) {
  let program;
  try {
    program = acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'module', ranges: true });
  } catch {
    return {};
  }
  const statements = program.body;
  const texts = statements.map((s) => code.slice(s.start, s.end));
  const { binds, uses } = topLevelUses(program, statements);
  // Plain statements may change what a task reads; declarations bind, and exports only name.
  const exporting = (st) => st.type === 'ExportAllDeclaration' || (st.type.startsWith('Export') && !st.declaration);
  const plain = statements.map((st, j) => binds[j].size === 0 && !exporting(st));
  const dynamics = statements.map(dynamic);
  // name → the statements that bind it, and those that may change it: plain statements that
  // touch it, and any statement that assigns it (esbuild's lazy module initialisers,
  // `var init_x = __esm({ ... () { import_y = ... } })`, assign names declared elsewhere). A
  // large bundle (mathjs) has thousands of top-level statements, too many to scan per name.
  const binders = new Map();
  const touchers = new Map();
  const add = (map, name, j) => (map.get(name) ?? map.set(name, []).get(name)).push(j);
  statements.forEach((_, j) => {
    for (const n of binds[j]) add(binders, n, j);
    for (const n of plain[j] ? uses[j].touched : uses[j].written) add(touchers, n, j);
  });
  const digests = {};
  statements.forEach((statement, index) => {
    for (const name of taskNames(statement)) {
      const counted = new Set([index]);
      const names = new Set();
      const pending = [index];
      while (pending.length > 0) {
        const fresh = [...uses[pending.pop()].all].filter((n) => !names.has(n));
        for (const n of fresh) {
          names.add(n);
          for (const j of [...(binders.get(n) ?? []), ...(touchers.get(n) ?? [])]) {
            if (!counted.has(j)) {
              counted.add(j);
              pending.push(j);
            }
          }
        }
      }
      const whole = [...counted].some((j) => dynamics[j]);
      const hash = createHash('sha256');
      const part = (label, value) => {
        const bytes = Buffer.from(String(value), 'utf8');
        hash.update(`${label} ${bytes.length}\n`);
        hash.update(bytes);
        hash.update('\n');
      };
      part('format', 'jug-js function digest 2');
      part('base', base);
      part('function', name);
      texts.forEach((text, j) => {
        if (whole || counted.has(j)) part('statement', text);
      });
      digests[name] = `sha256:${hash.digest('hex')}`;
    }
  });
  return digests;
}
