/**
 * Version of the scoring definitions. Bump the minor version when a metric is added and the major
 * version when any existing number could change (tokenization, conventions, matching rules), so a
 * stored metric can always be traced to the exact definition that produced it (docs/scoring.md).
 */
export const SCORER_VERSION = '1.0.0';
