/** Test clusters started and not yet stopped, for the failed-test report (failure-logs.ts); kept apart from cluster.ts so the report's setup file stays light. */

/** What the report needs from a running test cluster. */
export interface LoggingCluster {
  /** The last lines each member printed. */
  recentLog(): string;
}

/** Clusters started and not yet stopped. */
export const runningClusters = new Set<LoggingCluster>();
