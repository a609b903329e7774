// The colours of both themes pass WCAG 2.1 AA: 4.5:1 for text on each
// background it is used on, 3:1 for focus rings and borders of controls.
// Reads the custom properties from the style sheet itself. Run by .ci/run.
import { readFileSync } from 'node:fs';

const css = readFileSync(new URL('./public/assets/style.css', import.meta.url), 'utf8');
function theme(block) {
  return Object.fromEntries([...block.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/gi)].map(([, k, v]) => [k, v]));
}
const light = theme(css.slice(css.indexOf(':root {'), css.indexOf('}', css.indexOf(':root {'))));
const darkStart = css.indexOf(':root {', css.indexOf('prefers-color-scheme: dark'));
const dark = { ...light, ...theme(css.slice(darkStart, css.indexOf('}', darkStart))) };

function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function ratio(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
// [foreground, background, minimum]
const pairs = [
  ['text', 'bg', 4.5], ['text', 'surface', 4.5], ['text', 'mine', 4.5], ['text', 'note', 4.5],
  ['muted', 'bg', 4.5], ['muted', 'surface', 4.5], ['muted', 'mine', 4.5],
  ['accent', 'surface', 4.5], ['accent', 'bg', 4.5], ['accent-text', 'accent', 4.5],
  ['danger', 'surface', 4.5], ['danger', 'bg', 4.5], ['warn', 'surface', 4.5], ['warn', 'bg', 4.5], ['ok', 'surface', 4.5], ['ok', 'mine', 4.5],
  ['focus', 'surface', 3], ['focus', 'bg', 3], ['control', 'surface', 3], ['control', 'bg', 3],
  // A label's colour marks its chip (a dot and a border) on the list and the pane.
  ...['grey', 'red', 'orange', 'yellow', 'green', 'teal', 'blue', 'purple'].flatMap((c) => [[`label-${c}`, 'surface', 3], [`label-${c}`, 'bg', 3], [`label-${c}`, 'mine', 3]]),
];
const problems = [];
for (const [name, t] of [['light', light], ['dark', dark]]) {
  for (const [fg, bg, min] of pairs) {
    const r = ratio(t[fg], t[bg]);
    if (r < min) problems.push(`${name}: --${fg} on --${bg} is ${r.toFixed(2)}:1, needs ${min}:1`);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`contrast: ${pairs.length} pairs pass WCAG AA in the light and dark themes`);
