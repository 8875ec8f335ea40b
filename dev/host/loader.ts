// Loads the app's entry points the way the Node worker does (startApp.ts / loadScriptFile.ts):
// `package.json` "main" may be a glob; each match is `require`d, or `import()`ed when it is .mjs
// or the package is "type": "module". On Node 20+ a load error stops start-up.
import path = require('node:path');
import { pathToFileURL } from 'node:url';
import { glob } from 'tinyglobby';
import type { PackageJson } from './settings';

export class AppLoadError extends Error {
  override name = 'AppLoadError';
}

function isEsModule(file: string, pkg: PackageJson): boolean {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  return pkg.type === 'module';
}

/** Returns the loaded files, relative to the app root. */
export async function loadEntryPoints(appRoot: string, pkg: PackageJson): Promise<string[]> {
  const pattern = pkg.main;
  if (!pattern) {
    throw new AppLoadError(`package.json in ${appRoot} has no "main" entry; point it at the compiled function files (a glob is allowed).`);
  }
  const files = (await glob(pattern, { cwd: appRoot, onlyFiles: true })).sort();
  if (files.length === 0) {
    throw new AppLoadError(`Found zero files matching the package.json "main" pattern "${pattern}" in ${appRoot} (has the app been built?).`);
  }
  for (const file of files) {
    const absolute = path.resolve(appRoot, file);
    try {
      if (isEsModule(absolute, pkg)) await import(pathToFileURL(absolute).href);
      else require(absolute);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new AppLoadError(`Failed to load app entry point "${file}" (${absolute}): ${reason}`, { cause: err });
    }
  }
  return files;
}
