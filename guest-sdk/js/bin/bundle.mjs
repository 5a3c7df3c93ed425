// Bundling a graph script with esbuild, for jug-js.mjs: the entry module, the Node built-ins
// (polyfilled from npm, or refused with the package that imports them), and the names the
// bundle gives its modules.
//
// Packages are resolved as for a browser first (the `browser` field and condition, then
// `module`, then `main`): a task is closer to a browser than to Node (no files, no network, no
// processes). The globals and modules of Node that pure code uses come from the npm polyfills
// pinned in ../package.json; a module cannot resolve to what Node has built in, so Node's
// meaning of `import 'buffer'` (the built-in, never a package of that name) is kept.

import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SDK_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SDK_ENTRY = join(SDK_ROOT, 'src', 'jug.js');
const PRELUDE = join(SDK_ROOT, 'src', 'prelude.js');
const NODE_GLOBALS = join(SDK_ROOT, 'src', 'node-globals', 'index.js');

export class BuildError extends Error {}

export function oneLine(text) {
  return String(text)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');
}

/** Node built-in → the npm polyfill that stands in for it (resolved from this SDK). */
export const POLYFILLS = {
  buffer: 'buffer/',
  events: 'events/',
  path: 'path-browserify',
  'path/posix': 'path-browserify',
  process: 'process/browser.js',
  stream: 'stream-browserify',
  string_decoder: 'string_decoder/',
  util: 'util/',
};

/** The npm packages of POLYFILLS (their versions are in every task function's identity). */
export const POLYFILL_PACKAGES = [...new Set(Object.values(POLYFILLS).map((s) => s.split('/')[0]))].sort();

/** Built-ins that cannot work in a task, by why. The rest have no polyfill here. */
const IMPOSSIBLE = [
  [
    ['fs', 'fs/promises'],
    'a task has no file system (pass file contents as task arguments, or read files in a Rust or Python task)',
  ],
  [
    ['net', 'tls', 'dgram', 'dns', 'dns/promises', 'http', 'https', 'http2'],
    'a task has no network',
  ],
  [
    ['child_process', 'cluster', 'worker_threads'],
    'a task cannot start processes or threads',
  ],
];
const WHY = new Map(IMPOSSIBLE.flatMap(([names, why]) => names.map((n) => [n, why])));
const BUILTINS = new Set(builtinModules);

/** `node_modules/<package>` (scoped or not) that `file` lies in, with its version, or null. */
function owningPackage(file) {
  const parts = file.split(sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return null;
  const name = parts[at + 1].startsWith('@') ? parts.slice(at + 1, at + 3).join('/') : parts[at + 1];
  const dir = parts.slice(0, at + 1).join(sep) + sep + name;
  let version = '';
  try {
    version = `@${JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version}`;
  } catch {}
  return `${name}${version}`;
}

/** Whether the package.json nearest to `file` replaces the module `name` in its `browser` field
 *  (`"crypto": false` in seedrandom): esbuild applies that itself. */
function browserReplaces(file, name) {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    let manifest = null;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    } catch {}
    if (manifest) {
      const browser = manifest.browser;
      return typeof browser === 'object' && browser !== null && (name in browser || `node:${name}` in browser);
    }
    if (dirname(dir) === dir) return false;
  }
}

/** Node's built-in modules: polyfilled, or a one-line error naming who imports them. */
function nodeBuiltins(scriptDir) {
  const sdkRequire = createRequire(join(SDK_ROOT, 'package.json'));
  return {
    name: 'jug-node-builtins',
    setup(build) {
      build.onResolve({ filter: /^[a-z_/:]+$/ }, (args) => {
        const name = args.path.replace(/^node:/, '');
        if (!BUILTINS.has(name) && !args.path.startsWith('node:')) return undefined;
        if (args.importer && browserReplaces(args.importer, name)) return undefined;
        if (POLYFILLS[name]) return { path: sdkRequire.resolve(POLYFILLS[name]) };
        // esbuild puts the importing file and line before the text.
        const pkg = owningPackage(args.importer);
        const who = pkg ? `the package ${pkg}` : relative(scriptDir, args.importer).split(sep).join('/');
        const what = `${who} imports the Node built-in \`${args.path}\``;
        const text = WHY.has(name)
          ? `${what}, which cannot work in a task: ${WHY.get(name)}`
          : `${what}, for which jug-js has no polyfill (it has ${Object.keys(POLYFILLS).join(', ')}): use a package written for browsers`;
        return { errors: [{ text }] };
      });
    },
  };
}

export function entrySource(script, forCheck) {
  // The prelude first: it fixes the clock and randomness until every import has run.
  const lines = [
    "import { endLoad } from 'jug-prelude';",
    `import * as script from ${JSON.stringify(`./${basename(script)}`)};`,
    "import { __entry } from 'jug';",
    'endLoad();',
    'const entry = __entry(script);',
  ];
  if (forCheck) {
    lines.push('export { entry };');
  } else {
    lines.push(
      'export function build(args) { return entry.build(args); }',
      'export function run(name, input) { return entry.run(name, input); }',
    );
  }
  return lines.join('\n') + '\n';
}

/** The host's interfaces, for loading the bundle in Node: they are not callable there. */
const hostStubs = {
  name: 'jug-host-stubs',
  setup(build) {
    build.onResolve({ filter: /^jug:task\// }, (args) => ({ path: args.path, namespace: 'jug-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'jug-stub' }, (args) => {
      const names = args.path.startsWith('jug:task/log')
        ? ['write']
        : ['declare', 'declareIn', 'setLimits', 'value', 'barrier', 'inputFile', 'compound', 'declareCompound'];
      const stub = (n) =>
        `export function ${n}() { throw new Error('the host function ${n} cannot be called while the script loads: only graph() declares tasks'); }`;
      return { contents: names.map(stub).join('\n'), loader: 'js' };
    });
  },
};

/** The script bundled behind the entry module: for the component, or (`forCheck`) for loading
 *  in Node with the host's interfaces stubbed. `{ code, map, metafile }`. */
export async function bundle(esbuild, script, forCheck) {
  const scriptDir = dirname(script);
  const stem = basename(script, extname(script));
  const options = {
    stdin: {
      contents: entrySource(script, forCheck),
      resolveDir: scriptDir,
      sourcefile: 'jug-entry.js',
      loader: 'js',
    },
    absWorkingDir: scriptDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    mainFields: ['browser', 'module', 'main'],
    conditions: ['browser', 'module', 'import'],
    inject: [NODE_GLOBALS],
    define: { global: 'globalThis' },
    target: 'es2022',
    // Bundling renames clashing top-level names; a task function's name must survive.
    keepNames: true,
    alias: { jug: SDK_ENTRY, 'jug-prelude': PRELUDE },
    plugins: [nodeBuiltins(scriptDir)],
    write: false,
    outfile: join(scriptDir, `${stem}.bundle.js`),
    metafile: true,
    sourcemap: forCheck ? 'inline' : 'external',
    sourcesContent: false,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
  };
  if (forCheck) {
    options.plugins.push(hostStubs);
    options.outfile = join(scriptDir, `${stem}.check.mjs`);
    // The check module is loaded from a temporary directory: Node's stack traces find the
    // sources through this.
    options.sourceRoot = `${pathToFileURL(scriptDir).href}/`;
  } else {
    options.external = ['jug:task/*'];
  }
  let result;
  try {
    result = await esbuild.build(options);
  } catch (e) {
    const first = e.errors && e.errors[0];
    if (first) {
      const where = first.location
        ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: `
        : '';
      throw new BuildError(`${where}${first.text}`);
    }
    throw new BuildError(oneLine(e.message));
  }
  const code = result.outputFiles.find((f) => f.path.endsWith('.js') || f.path.endsWith('.mjs'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  return { code: code.text, map: map ? JSON.parse(map.text) : null, metafile: result.metafile };
}

/** How the component names a source file esbuild gives relative to the script: the SDK's as
 *  `jug-sdk/...` (where the SDK lies relative to the script differs between checkouts and
 *  machines), others as they are. */
export function sourceName(source, scriptDir) {
  // A module a `browser` field disables is named `(disabled):path`.
  const [, disabled, rest] = /^(\(disabled\):)?(.*)$/s.exec(source);
  const path = resolve(scriptDir, rest);
  if (path.startsWith(SDK_ROOT + sep)) return `${disabled ?? ''}jug-sdk/${relative(SDK_ROOT, path).split(sep).join('/')}`;
  return source;
}

/** The bundle with the paths esbuild writes named by `sourceName`: the `// path` line before
 *  each module, and the key of a module's wrapper (`__commonJS({ "path"(exports, module) {`,
 *  `__esm({ "path"() {`), so that no byte of it depends on where the checkout is. Lines stay
 *  where they are: the source map still fits. */
export function normalisedCode({ code, metafile }, scriptDir) {
  const names = new Map();
  for (const path of Object.keys(metafile.inputs)) {
    const name = sourceName(path, scriptDir);
    if (name !== path) names.set(path, name);
  }
  return code
    .split('\n')
    .map((line) => {
      const comment = /^(\s*)\/\/ (.*)$/.exec(line);
      if (comment && names.has(comment[2])) return `${comment[1]}// ${names.get(comment[2])}`;
      const wrapper = /^(\s*)"([^"]+)"(\(.*)$/.exec(line);
      if (wrapper && names.has(wrapper[2])) return `${wrapper[1]}${JSON.stringify(names.get(wrapper[2]))}${wrapper[3]}`;
      return line;
    })
    .join('\n');
}
