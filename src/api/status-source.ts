/** What Maintenance.Status and response headers read from the running node. */

/** A live view of the node for status answers. */
export interface StatusSource {
  readonly leader: number;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly revision: number;
  readonly isLearner: boolean;
  /** Approximate bytes of data held (etcd's dbSize). */
  readonly dataSizeBytes: number;
}
