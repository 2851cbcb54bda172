/**
 * Vitest setup file: when a test fails while test clusters are running, prints the last lines
 * each of their members logged (TestCluster.recentLog), so that a failure on a CI machine,
 * whose member data folders are gone with the run, can still be explained from its output.
 */
import { beforeEach } from 'vitest';
import { runningClusters } from './running-clusters.js';

beforeEach((ctx) => {
  ctx.onTestFailed(() => {
    for (const c of runningClusters)
      console.error(`members' recent logs (${ctx.task.name}):\n${c.recentLog()}`);
  });
});
