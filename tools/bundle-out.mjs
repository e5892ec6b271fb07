// What the bundling tools share: write the generated file, or with --check
// only compare it with the committed one (exit 1 when it is out of date).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// out: the file's absolute path; root: the repository (for messages);
// text: what the tool generated; tool: the command that regenerates it.
export function writeOrCheck(out, root, text, tool) {
  const name = path.relative(root, out);
  const bytes = Buffer.byteLength(text);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(out, 'utf8');
    } catch (e) {
      current = '';
    }
    if (current !== text) {
      console.error(name + ' is out of date: run ' + tool);
      process.exit(1);
    }
    console.log(name + ' is up to date (' + bytes + ' bytes)');
    return;
  }
  writeFileSync(out, text);
  console.log('wrote ' + name + ' (' + bytes + ' bytes)');
}
