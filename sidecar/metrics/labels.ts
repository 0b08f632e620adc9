/** Label values that come from traffic (models, tools, statements, methods) must stay bounded. */

export const OTHER_LABEL = 'other';
export const UNKNOWN_LABEL = 'unknown';

/**
 * Passes the first `max` distinct values through and maps every later new value to `other`,
 * so traffic cannot grow the number of series; a missing value is `unknown`.
 */
export function labelLimiter(max: number): (value: string | undefined) => string {
  const seen = new Set<string>();
  return (value) => {
    if (value === undefined || value === '') return UNKNOWN_LABEL;
    if (seen.has(value)) return value;
    if (seen.size >= max) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
}
