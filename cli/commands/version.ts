import { readFileSync } from 'node:fs';
import { defineCommand } from '../command.ts';

/** The package version, read once from package.json (two levels up in source and in dist/). */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'axom-observer' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0-unknown';
}

export const command = defineCommand({
  name: 'version',
  summary: 'print the version',
  usage: 'axom-observer version [--json]',
  description: 'Prints the version of axom-observer and of the Node.js runtime.',
  flags: { json: { type: 'boolean', description: 'print JSON', default: false } },
  async run(values) {
    const info = { version: packageVersion(), node: process.versions.node };
    process.stdout.write(
      values.json ? `${JSON.stringify(info)}\n` : `axom-observer ${info.version} (node ${info.node})\n`,
    );
    return 0;
  },
});
