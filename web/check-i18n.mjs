// Every string is translated: both languages have the same keys, and every
// key the pages use literally exists. Run by .ci/run: `node web/check-i18n.mjs`.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { STRINGS } from './public/assets/i18n.js';

const here = new URL('.', import.meta.url).pathname;
const languages = Object.keys(STRINGS);
const problems = [];
for (const a of languages) {
  for (const b of languages) {
    for (const key of Object.keys(STRINGS[a])) {
      if (!(key in STRINGS[b])) problems.push(`${key} is in ${a} but not in ${b}`);
    }
  }
}
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}
for (const file of sources(join(here, 'public'))) {
  for (const [, key] of readFileSync(file, 'utf8').matchAll(/\bt\('([a-z_.]+)'/g)) {
    if (!(key in STRINGS.en)) problems.push(`${file}: ${key} has no translation`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`i18n: ${languages.join(', ')} complete, ${Object.keys(STRINGS.en).length} strings`);
