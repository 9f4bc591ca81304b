/** dmasim's own version, read once from its package.json (src/ and dist/src/ sit at different depths). */

import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function dmasimVersion(): string {
  if (cached !== undefined) return cached;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dmasim' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // Not at this depth.
    }
  }
  return (cached = '0.0.0-unknown');
}
