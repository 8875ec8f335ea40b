/**
 * vitest globalSetup: compiles the app to dist/ once per run, because integration tests spawn the
 * local host on the compiled output. Skipped when every source already has a newer compiled file
 * (`npm test` has just built), so a run does not rewrite dist/ under a host another run is loading.
 * Type errors are printed but do not stop the run (tsc still emits); `npm test` and
 * `npm run typecheck` are where type errors fail.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCE_DIRS = ['functions', 'shared', 'dev', 'bench'];

function sources(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function upToDate(): boolean {
  for (const source of SOURCE_DIRS.flatMap((dir) => sources(path.join(ROOT, dir)))) {
    const compiled = path.join(ROOT, 'dist', path.relative(ROOT, source)).replace(/\.ts$/, '.js');
    try {
      if (statSync(compiled).mtimeMs < statSync(source).mtimeMs) return false;
    } catch {
      return false;
    }
  }
  return true;
}

export default function setup(): void {
  if (upToDate()) return;
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    process.stderr.write(`[global-setup] tsc reported errors (dist/ was still emitted):\n${result.stdout}${result.stderr}\n`);
  }
}
