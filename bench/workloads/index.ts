/** Every benchmark workload, in the order the table lists them (the disruptive ones last: failover, then data size). */
import type { Workload } from '../workload.js';
import { datasetWorkloads } from './dataset.js';
import { failoverWorkloads } from './failover.js';
import { kvWorkloads } from './kv.js';
import { leaseWorkloads } from './lease.js';
import { lockWorkloads } from './lock.js';
import { membershipWorkloads } from './membership.js';
import { watchWorkloads } from './watch.js';

/** All workloads by table order. */
export const WORKLOADS: readonly Workload[] = [
  ...kvWorkloads,
  ...leaseWorkloads,
  ...lockWorkloads,
  ...watchWorkloads,
  ...membershipWorkloads,
  ...failoverWorkloads,
  ...datasetWorkloads,
];
