/**
 * vitest globalSetup: compiles the app to dist/ once per run, because integration tests spawn the
 * local host on the compiled output. Type errors are printed but do not stop the run (tsc still
 * emits); `npm test` and `npm run typecheck` are where type errors fail.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(__dirname, '..', '..');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    process.stderr.write(`[global-setup] tsc reported errors (dist/ was still emitted):\n${result.stdout}${result.stderr}\n`);
  }
}
