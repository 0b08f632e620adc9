/**
 * Files the package ships beside its code (schemas/, the capture stats addon) are found
 * from the package root, never relative to a module: the same module runs from source
 * (`sidecar/signal/validate.ts`) and compiled (`dist/sidecar/signal/validate.js`), one
 * directory level apart.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PackageLayoutError } from './errors.ts';

export const PACKAGE_NAME = 'axom-observer';

/**
 * The nearest directory at or above `from` holding a package.json named `axom-observer`;
 * undefined when there is none (e.g. the code was bundled elsewhere).
 */
export function findPackageRoot(from: string | URL): string | undefined {
  let dir = typeof from === 'string' && !from.startsWith('file:') ? from : dirname(fileURLToPath(from));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === PACKAGE_NAME) return dir;
    } catch {
      // no (readable) package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let cached: string | undefined;

/** The package root of the running code (found once, from this module's own location). */
export function packageRoot(): string {
  if (cached === undefined) {
    const found = findPackageRoot(import.meta.url);
    if (found === undefined) {
      throw new PackageLayoutError(
        `cannot find the ${PACKAGE_NAME} package root (a package.json named ${PACKAGE_NAME}) above ${fileURLToPath(import.meta.url)}`,
      );
    }
    cached = found;
  }
  return cached;
}

/** A path inside the package, e.g. packagePath('schemas', 'signal.schema.json'). */
export function packagePath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}
