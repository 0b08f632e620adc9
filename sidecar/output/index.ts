/** Signal outputs besides the exporter: NDJSON on stdout. */

export type { NdjsonOutput } from './ndjson.ts';
export { createNdjsonOutput } from './ndjson.ts';
