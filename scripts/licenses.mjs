#!/usr/bin/env node
// Writes dist/licenses.txt: the license of every package bundled into dist/,
// in every chunk. ncc's own --license only covers the chunks loaded on demand
// once the bundle is split (the installers are loaded lazily), so the list is
// built here from the source maps of all chunks instead.
//
// Format (as ncc writes it): package name, SPDX id, license text, blank line.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');

/** node_modules/<pkg> directories (relative to the repo) named by the source maps. */
function bundledPackageDirs() {
  const dirs = new Set();
  for (const file of readdirSync(DIST).filter((f) => f.endsWith('.js.map'))) {
    const map = JSON.parse(readFileSync(path.join(DIST, file), 'utf8'));
    for (const source of map.sources) {
      // Nested node_modules too: take the innermost package of each path.
      const at = source.indexOf('node_modules/');
      if (at < 0) continue;
      const m = /^node_modules\/(?:@[^/]+\/)?[^/]+(?:\/node_modules\/(?:@[^/]+\/)?[^/]+)*/.exec(source.slice(at));
      if (m) dirs.add(m[0]);
    }
  }
  return [...dirs];
}

function licenseText(dir) {
  const names = readdirSync(dir).filter((f) => /^(licen[cs]e|copying)(\.|$|-)/i.test(f)).sort();
  return names.length > 0 ? readFileSync(path.join(dir, names[0]), 'utf8').trim() : '';
}

const packages = new Map();
for (const rel of bundledPackageDirs()) {
  const dir = path.join(ROOT, rel);
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest)) continue;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  if (!pkg.name || packages.has(pkg.name)) continue;
  const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? '');
  packages.set(pkg.name, { license, text: licenseText(dir) });
}
if (packages.size === 0) {
  process.stderr.write('licenses: no bundled packages found in dist/*.js.map (run ncc with --source-map first)\n');
  process.exit(1);
}

const out = [...packages.keys()]
  .sort()
  .map((name) => {
    const { license, text } = packages.get(name);
    return `${name}\n${license}\n${text}\n`;
  })
  .join('\n');
writeFileSync(path.join(DIST, 'licenses.txt'), out);
process.stdout.write(`licenses: ${packages.size} packages → dist/licenses.txt\n`);
