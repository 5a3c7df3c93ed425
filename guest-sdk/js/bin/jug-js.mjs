#!/usr/bin/env node
// jug-js: builds a JavaScript graph script into a jug:task component for jug-host.
//
//   jug-js build SCRIPT.js [-o OUT.wasm] [--force]
//
// 1. bundles the script with esbuild (`import ... from 'jug'` is this SDK; the host's
//    `jug:task/*` interfaces stay imports) behind an entry module that exports the world's
//    `build` and `run`;
// 2. loads the bundle once in Node, to report a script that fails while loading in a second
//    instead of after the componentize step;
// 3. computes the declared code digest (sha256 over every byte of JavaScript componentize-js
//    gets: the bundle, its modules named relative to the script, the SDK's as `jug-sdk/...`,
//    so that two checkouts agree, and its source map; plus the SDK and tool versions and the
//    WIT), and stops there if OUT already declares that digest;
// 4. componentizes the bundle with componentize-js (15-30 s), appends the identity of each
//    task function as the custom section `jug-function-digests` (see function-digests.mjs)
//    and the digest as `jug-code-digest`, and writes OUT atomically.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { decodeMappings } from '../src/stack.js';
import { BuildError, POLYFILL_PACKAGES, SDK_ROOT, bundle, entrySource, normalisedCode, oneLine, sourceName } from './bundle.mjs';
import { functionDigests } from './function-digests.mjs';

const DIGEST_SECTION = 'jug-code-digest';
const FUNCTIONS_SECTION = 'jug-function-digests';
/** componentize-js options that shape the component (part of the digest). */
const WORLD = 'task';
const DISABLED_FEATURES = ['http', 'fetch-event'];

const USAGE = `usage: jug-js build SCRIPT.js [-o OUT.wasm] [--force]

Builds a JavaScript graph script into a jug:task component for jug-host.

  -o, --output OUT   the component to write (default: <script stem>.wasm here)
  -f, --force        componentize even if OUT already declares the current code digest
  -h, --help         this help
  -V, --version      the SDK version

Environment: JUG_WIT_DIR (default: the wit/ directory of the jug-host checkout).`;

class UsageError extends Error {}

function say(message) {
  process.stderr.write(`jug-js: ${message}\n`);
}

function packageVersion(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
}

function dependencyVersion(name) {
  const dir = join(SDK_ROOT, 'node_modules', ...name.split('/'));
  if (!existsSync(join(dir, 'package.json'))) {
    throw new BuildError(`${name} is not installed in ${SDK_ROOT}: run scripts/sdk/js`);
  }
  return packageVersion(dir);
}

function parseArgs(argv) {
  if (argv.length === 0) throw new UsageError('a command is required');
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') return { command: 'help' };
  if (command === '-V' || command === '--version') return { command: 'version' };
  if (command !== 'build') throw new UsageError(`unknown command \`${command}\``);
  const options = { command, script: null, output: null, force: false };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '-o' || arg === '--output') {
      if (i + 1 >= rest.length) throw new UsageError(`${arg} needs a file name`);
      options.output = rest[++i];
    } else if (arg.startsWith('--output=')) {
      options.output = arg.slice('--output='.length);
    } else if (arg === '-f' || arg === '--force') {
      options.force = true;
    } else if (arg === '-h' || arg === '--help') {
      return { command: 'help' };
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option \`${arg}\``);
    } else if (options.script === null) {
      options.script = arg;
    } else {
      throw new UsageError(`unexpected argument \`${arg}\``);
    }
  }
  if (options.script === null) throw new UsageError('build needs a script');
  if (options.output === '') throw new UsageError('the output file name is empty');
  return options;
}

// ---------------------------------------------------------------------------------------------
// Bundling

function witDir() {
  const dir = process.env.JUG_WIT_DIR ? resolve(process.env.JUG_WIT_DIR) : resolve(SDK_ROOT, '..', '..', 'wit');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new BuildError(`no WIT directory at ${dir} (set JUG_WIT_DIR to jug-host's wit/)`);
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.wit')).sort();
  if (files.length === 0) throw new BuildError(`no .wit file in ${dir}`);
  return { dir, files: files.map((f) => ({ name: f, text: readFileSync(join(dir, f)) })) };
}

/** Exactly the JavaScript componentize-js gets: the bundle, then the source map its stack
 *  traces use (see src/stack.js; appending keeps the bundle's line numbers). The code digest
 *  covers all of it. */
function componentSource(bundled, scriptDir, bundleName) {
  const code = normalisedCode(bundled, scriptDir);
  const map = compactMap(bundled.map, code, scriptDir, bundleName);
  return `${code}\nglobalThis.__jugSourceMap = ${JSON.stringify(map)};\n`;
}

// ---------------------------------------------------------------------------------------------
// Loading the bundle in Node

async function checkScript(esbuild, script, tempDir) {
  const { code } = await bundle(esbuild, script, true);
  const file = join(tempDir, `${basename(script, extname(script))}.check.mjs`);
  await writeFile(file, code);
  process.setSourceMapsEnabled?.(true);
  // The prelude (src/prelude.js) gives the top level a fixed clock and a seeded Math.random.
  // crypto.getRandomValues() is for secrets, which a fixed seed would make a lie: in the
  // component it traps while the snapshot is taken. Catch it here, naming the line that did it.
  const saved = globalThis.crypto?.getRandomValues;
  const refuse = () => {
    throw new Error(
      'crypto.getRandomValues() cannot be called while the script loads: the top level runs once, ' +
        'while the component is built, where there is no secure randomness; call it inside a task',
    );
  };
  try {
    if (saved) globalThis.crypto.getRandomValues = refuse;
  } catch {}
  let module;
  try {
    module = await import(pathToFileURL(file).href);
  } catch (e) {
    throw new BuildError(`the script fails while loading: ${describeLoadError(e)}`);
  } finally {
    try {
      if (saved) globalThis.crypto.getRandomValues = saved;
    } catch {}
  }
  const functions = module.entry.functions();
  if (functions.length === 0) {
    say(`warning: ${basename(script)} defines no task function (wrap them with taskGenerator)`);
  }
  if (!module.entry.hasGraph) {
    say(`${basename(script)} exports no graph(args): building a library of task functions for other graphs`);
  }
  return functions;
}

/** The error's line, and where it was thrown: the first frame outside the SDK (its prelude and
 *  polyfills included) and the check module, named as the package and its file when that is
 *  under node_modules, so that the script is not blamed for a dependency's line. */
function describeLoadError(e) {
  const plain = e instanceof Error && (e.constructor === Error || e.name === 'JugError');
  const line = plain ? e.message : e && typeof e.message === 'string' ? `${e.name}: ${e.message}` : String(e);
  const frames = typeof e?.stack === 'string' ? e.stack.split('\n').filter((l) => /^\s+at /.test(l)) : [];
  for (const frame of frames) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?$/.exec(frame);
    if (!m) continue;
    // Source-mapped frames may read `<script dir>/../../<sdk>/jug.js`: resolve before testing.
    const path = resolve(m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1]);
    if (path.startsWith(SDK_ROOT + sep) || path.endsWith('.check.mjs')) continue;
    const where = `${relative(process.cwd(), path) || path}:${m[2]}:${m[3]}`;
    const pkg = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path.split(sep).join('/'));
    return pkg ? `${line} (in the package ${pkg[1]}, at ${where})` : `${line} (at ${where})`;
  }
  return line;
}

// ---------------------------------------------------------------------------------------------
// The digest and the custom section

function leb128(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function readLeb128(bytes, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos.at >= bytes.length || shift > 28) return null;
    const byte = bytes[pos.at++];
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
  }
}

function customSection(name, payload) {
  const nameBytes = Buffer.from(name, 'utf8');
  const content = Buffer.concat([Buffer.from(leb128(nameBytes.length)), nameBytes, payload]);
  return Buffer.concat([Buffer.from([0]), Buffer.from(leb128(content.length)), content]);
}

/** The payload of the top-level custom section `name` of a component, or null. */
function findCustomSection(bytes, name) {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    return null;
  }
  const pos = { at: 8 };
  let found = null;
  while (pos.at < bytes.length) {
    const id = bytes[pos.at++];
    const size = readLeb128(bytes, pos);
    if (size === null || pos.at + size > bytes.length) return null;
    const end = pos.at + size;
    if (id === 0) {
      const nameLength = readLeb128(bytes, pos);
      if (nameLength !== null && pos.at + nameLength <= end) {
        const sectionName = bytes.subarray(pos.at, pos.at + nameLength).toString('utf8');
        if (sectionName === name) found = bytes.subarray(pos.at + nameLength, end);
      }
    }
    pos.at = end;
  }
  return found;
}

/** The component's declared digest: everything in it, the function identities included (so
 *  that a change in how they are computed rebuilds a component that is otherwise current). */
function codeDigest(source, wit, identities) {
  return sha256([
    ['format', 'jug-js code digest 3'],
    ...toolchain(wit),
    ['component source', source],
    ['function identities', JSON.stringify(Object.entries(identities).sort())],
  ]);
}

/** What every task of every build depends on besides its source: the SDK, the tools, the WIT,
 *  and the Node polyfills (conservatively: esbuild initialises the injected `Buffer` and
 *  `process` in every CommonJS module, so most tasks that use a package reach them anyway). */
function toolchain(wit) {
  const parts = [['sdk', packageVersion(SDK_ROOT)]];
  const tools = ['@bytecodealliance/componentize-js', '@bytecodealliance/preview2-shim', 'esbuild', 'cborg'];
  for (const dep of [...tools, ...POLYFILL_PACKAGES]) {
    parts.push([dep, dependencyVersion(dep)]);
  }
  parts.push(['componentize', JSON.stringify({ world: WORLD, disableFeatures: DISABLED_FEATURES })]);
  for (const file of wit.files) parts.push([`wit ${file.name}`, file.text]);
  return parts;
}

/** `sha256:<hex>` over labelled parts, each length-prefixed. */
function sha256(parts) {
  const hash = createHash('sha256');
  for (const [label, value] of parts) {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
    hash.update(`${label} ${bytes.length}\n`);
    hash.update(bytes);
    hash.update('\n');
  }
  return `sha256:${hash.digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// The build

/** The source map the component keeps for its stack traces (see src/stack.js): sources
 *  relative to the script (the SDK's as `jug-sdk/...`), and the names esbuild changed. */
function compactMap(map, code, scriptDir, bundleName) {
  const sources = map.sources.map((source) => sourceName(source, scriptDir));
  const renames = {};
  const lines = code.split('\n');
  decodeMappings(map.mappings).forEach((segments, line) => {
    for (const [column, , , , nameIndex] of segments) {
      if (nameIndex < 0 || lines[line] === undefined) continue;
      const generated = /^[\p{ID_Continue}$]+/u.exec(lines[line].slice(column));
      const original = map.names[nameIndex];
      if (generated && original && generated[0] !== original) renames[generated[0]] = original;
    }
  });
  return { file: bundleName, sources, mappings: map.mappings, renames };
}

async function build(options) {
  const script = resolve(options.script);
  if (!existsSync(script) || !statSync(script).isFile()) throw new BuildError(`${options.script}: no such file`);
  const stem = basename(script, extname(script));
  const output = resolve(options.output ?? `${stem}.wasm`);
  if (!existsSync(dirname(output)) || !statSync(dirname(output)).isDirectory()) {
    throw new BuildError(`cannot write ${options.output}: no directory ${dirname(output)}`);
  }
  const wit = witDir();

  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new BuildError(`cannot load esbuild (${oneLine(e.message)}): run scripts/sdk/js`);
  }

  const tempDir = await mkdtemp(join(tmpdir(), 'jug-js-'));
  try {
    const bundled = await bundle(esbuild, script, false);
    // The file name shows in stack frames, which the source map turns back into lines of the
    // script (see src/stack.js).
    const bundleName = `${stem}.bundle.js`;
    const source = componentSource(bundled, dirname(script), bundleName);
    // Over the bundle without its source map (see function-digests.mjs). Every task runs
    // through the SDK (argument decoding, result encoding, the entry module's dispatch), not
    // only the statements its own reaches: the SDK's sources and the entry module are in every
    // function's identity.
    const sdkSources = readdirSync(join(SDK_ROOT, 'src'))
      .filter((f) => f.endsWith('.js'))
      .sort()
      .map((f) => [`sdk ${f}`, readFileSync(join(SDK_ROOT, 'src', f))]);
    const base = sha256([
      ['format', 'jug-js function base 2'],
      ...toolchain(wit),
      ...sdkSources,
      ['entry module', entrySource(script, false)],
    ]);
    const identities = functionDigests(normalisedCode(bundled, dirname(script)), base);
    const digest = codeDigest(source, wit, identities);

    if (!options.force && existsSync(output)) {
      const current = findCustomSection(await readFile(output), DIGEST_SECTION);
      if (current !== null && current.toString('latin1') === digest) {
        say(`${relative(process.cwd(), output) || output} is up to date`);
        return;
      }
    }

    const functions = await checkScript(esbuild, script, tempDir);

    const sourcePath = join(tempDir, bundleName);
    await writeFile(sourcePath, source);

    say(`componentizing ${relative(process.cwd(), script) || script} (${functions.length} task functions)...`);
    const started = Date.now();
    let componentize;
    try {
      ({ componentize } = await import('@bytecodealliance/componentize-js'));
    } catch (e) {
      throw new BuildError(`cannot load componentize-js (${oneLine(e.message)}): run scripts/sdk/js`);
    }
    let component;
    try {
      ({ component } = await componentize({
        sourcePath,
        witPath: wit.dir,
        worldName: WORLD,
        disableFeatures: DISABLED_FEATURES,
      }));
    } catch (e) {
      throw new BuildError(`componentize-js failed: ${componentizeMessage(e)}`);
    }
    const sections = [Buffer.from(component)];
    if (Object.keys(identities).length > 0) {
      const table = JSON.stringify(Object.fromEntries(Object.entries(identities).sort()));
      sections.push(customSection(FUNCTIONS_SECTION, Buffer.from(table, 'utf8')));
    }
    sections.push(customSection(DIGEST_SECTION, Buffer.from(digest, 'latin1')));
    const bytes = Buffer.concat(sections);
    const temporary = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
    try {
      await writeFile(temporary, bytes);
      await rename(temporary, output);
    } catch (e) {
      await rm(temporary, { force: true });
      throw new BuildError(`cannot write ${output}: ${e.message}`);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const size = (bytes.length / 1e6).toFixed(1);
    say(`built ${relative(process.cwd(), output) || output} (${size} MB, componentized in ${seconds} s, ${digest.slice(0, 19)})`);
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

function componentizeMessage(e) {
  const text = String(e && e.message ? e.message : e);
  // A script that throws while the snapshot is taken: keep the exception, drop the noise.
  const top = /Exception while evaluating top-level script\n([^\n]*)/.exec(text);
  if (top) return `the script fails while loading: ${top[1]}`;
  return oneLine(text.split('\n').slice(0, 6).join('\n'));
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    say(`${e.message} (try \`jug-js --help\`)`);
    return 2;
  }
  if (options.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.command === 'version') {
    process.stdout.write(`jug-js ${packageVersion(SDK_ROOT)}\n`);
    return 0;
  }
  try {
    await build(options);
    return 0;
  } catch (e) {
    if (e instanceof BuildError) {
      say(e.message);
      return 1;
    }
    say(`internal error: ${e && e.stack ? e.stack : e}`);
    return 1;
  }
}

process.exitCode = await main();
