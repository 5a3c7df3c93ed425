// Stack frames of the bundle, mapped back to the script's own lines.
//
// `jug-js build` appends `globalThis.__jugSourceMap = {file, sources, mappings}` (esbuild's
// source map, without contents) to the bundle. SpiderMonkey writes a frame as
// `name@file:line:column` (both 1-based); frames in the bundle become
// `name@source:line:column` of the original file, and `renames` gives back the names of
// functions the bundler renamed (`is_prime2` for the `is_prime` inside
// `const is_prime = taskGenerator(function is_prime(n) {...})`). Decoded only when a task
// fails.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

let decoded = null; // Array per generated line of [genColumn, source, line, column, name]

/** A source map's `mappings`: per generated line, segments
 *  [generated column, source, line, column, name index or -1], all 0-based. */
export function decodeMappings(mappings) {
  const lines = [];
  let source = 0;
  let line = 0;
  let column = 0;
  let name = 0;
  for (const text of mappings.split(';')) {
    const segments = [];
    let genColumn = 0;
    for (const segment of text.split(',')) {
      if (!segment) continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = B64.indexOf(ch);
        if (digit < 0) return lines;
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      genColumn += fields[0];
      if (fields.length >= 4) {
        source += fields[1];
        line += fields[2];
        column += fields[3];
        let nameIndex = -1;
        if (fields.length >= 5) {
          name += fields[4];
          nameIndex = name;
        }
        segments.push([genColumn, source, line, column, nameIndex]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

function sourceMap() {
  const map = globalThis.__jugSourceMap;
  if (!map || typeof map.mappings !== 'string' || !Array.isArray(map.sources)) return null;
  if (decoded === null) decoded = decodeMappings(map.mappings);
  return map;
}

/** One line of `Error.stack`, with a bundle location replaced by the original one. */
export function mapStack(frame) {
  try {
    const map = sourceMap();
    if (map === null) return frame;
    const m = /^(.*)@(.*):(\d+):(\d+)$/.exec(frame);
    if (!m || m[2] !== map.file) return frame;
    const segments = decoded[Number(m[3]) - 1];
    if (!segments || segments.length === 0) return frame;
    const column = Number(m[4]) - 1;
    let best = null;
    for (const segment of segments) {
      if (segment[0] > column) break;
      best = segment;
    }
    if (best === null) best = segments[0];
    const source = map.sources[best[1]];
    const renames = map.renames || {};
    const name = Object.prototype.hasOwnProperty.call(renames, m[1]) ? renames[m[1]] : m[1];
    return `${name}@${source}:${best[2] + 1}:${best[3] + 1}`;
  } catch {
    return frame;
  }
}
