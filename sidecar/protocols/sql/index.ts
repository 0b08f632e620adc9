export { type DbMetrics, registerDbMetrics } from './metrics.ts';
export {
  analyzeSql,
  type NormalizeOptions,
  normalizeSql,
  type SqlDialect,
  type SqlInfo,
} from './normalize.ts';
