// The README shows the custom-device example and its test in full: its copies must equal the files
// that `npm test` runs, so the example a user copies is the one that passes.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('every `<!-- example: path -->` block equals its file', () => {
  const blocks = [...readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```\n/g)];
  expect(blocks.map((b) => b[1])).toEqual(['examples/crc-device/crc-device.ts', 'examples/crc-device/crc-device.test.ts']);
  for (const [, path, body] of blocks) expect(body, path).toBe(readFileSync(new URL(`../${path}`, import.meta.url), 'utf8'));
});
