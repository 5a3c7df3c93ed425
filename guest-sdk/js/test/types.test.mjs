// The TypeScript declarations (src/jug.d.ts) against tsc --strict: types/graph.ts, which
// uses the whole API and marks (@ts-expect-error) the mistakes the declarations must catch,
// type-checks; types/wrong.ts, one such mistake on its own, is rejected with the error a
// user would see, so a check that passes everything cannot pass here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as acorn from 'acorn';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdk = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(sdk, 'node_modules', 'typescript', 'bin', 'tsc');

/** tsc over one project of test/types/: its exit code and what it printed. */
function typecheck(project) {
  assert.ok(existsSync(tsc), `${tsc} is missing: install the SDK's devDependencies with scripts/sdk/js`);
  const run = spawnSync(process.execPath, [tsc, '-p', join(sdk, 'test', 'types', project), '--pretty', 'false'], {
    cwd: sdk,
    encoding: 'utf8',
  });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

test('the whole API type-checks under --strict, and the marked mistakes are rejected', () => {
  const { code, out } = typecheck('tsconfig.json');
  assert.equal(code, 0, out);
});

test('a string result where a number is taken is a type error', () => {
  const { code, out } = typecheck('tsconfig.wrong.json');
  assert.equal(code, 2, out);
  assert.match(
    out,
    /wrong\.ts\(13,7\): error TS2345: Argument of type 'Task<string>' is not assignable to parameter of type 'Arg<number>'/,
  );
  assert.equal(out.match(/error TS/g).length, 1, out);
});

test('the declarations name exactly the values src/jug.js exports', () => {
  const source = readFileSync(join(sdk, 'src', 'jug.js'), 'utf8');
  const exported = new Set();
  for (const node of acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'module' }).body) {
    if (node.type !== 'ExportNamedDeclaration') continue;
    for (const s of node.specifiers) exported.add(s.exported.name);
    for (const d of node.declaration?.declarations ?? []) exported.add(d.id.name);
  }
  const ts = createRequire(import.meta.url)('typescript');
  const file = join(sdk, 'src', 'jug.d.ts');
  const program = ts.createProgram([file], { strict: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(file));
  const declared = checker
    .getExportsOfModule(module)
    .filter((symbol) => symbol.flags & ts.SymbolFlags.Value)
    .map((symbol) => symbol.name);
  assert.deepEqual([...declared].sort(), [...exported].sort());
});
