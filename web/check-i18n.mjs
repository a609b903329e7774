// Every string is translated: each language file in public/assets/i18n/ is
// one the app offers, all have the same keys, every key the pages use
// literally exists, and every error code the server can answer with
// (error-codes.json, generated from the server's `ErrorCode` by a test) has
// an `error.<code>` text. Run by .ci/run: `node web/check-i18n.mjs`.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { STRINGS, LANGUAGES } from './public/assets/i18n.js';

const here = new URL('.', import.meta.url).pathname;
const problems = [];
// One file per language, `<code>.js` exporting the dictionary as `<code>`.
const dictionaries = join(here, 'public/assets/i18n');
for (const file of readdirSync(dictionaries).filter((f) => f.endsWith('.js'))) {
  const code = file.slice(0, -'.js'.length);
  const module = await import(join(dictionaries, file));
  if (!module[code]) problems.push(`i18n/${file} does not export ${code}`);
  else if (STRINGS[code] !== module[code]) problems.push(`i18n/${file} is not in STRINGS of i18n.js`);
  if (!LANGUAGES.some((l) => l.code === code)) problems.push(`i18n/${file} is not offered in LANGUAGES of i18n.js`);
}
for (const code of Object.keys(STRINGS)) {
  if (!readdirSync(dictionaries).includes(`${code}.js`)) problems.push(`${code} has no file i18n/${code}.js`);
}
const languages = Object.keys(STRINGS);
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
const codes = JSON.parse(readFileSync(join(here, 'error-codes.json'), 'utf8'));
for (const code of codes) {
  for (const language of languages) {
    if (!(`error.${code}` in STRINGS[language])) problems.push(`error code ${code} has no text error.${code} in ${language}`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`i18n: ${languages.join(', ')} complete, ${Object.keys(STRINGS.en).length} strings, ${codes.length} error codes`);
