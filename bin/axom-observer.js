#!/usr/bin/env node
// Runs the compiled CLI when built (npm run build), else the TypeScript source directly
// (Node >= 22.18 strips types; it never does so under node_modules, hence dist/).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(
  existsSync(built) ? built.href : new URL('../cli/main.ts', import.meta.url).href
);
process.exitCode = await main(process.argv.slice(2));
