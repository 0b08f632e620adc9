/** `--output ndjson`: signals on stdout, one JSON object a line. */

export { createNdjsonOutput, type NdjsonOutput, ndjsonSink } from './ndjson.ts';
