/** The gRPC service definitions the client port serves, from proto/etcd. */
import type * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../common/proto-loader.js';

/** KV, Maintenance and Cluster as etcd declares them. */
export function serviceDefinitions(): {
  kv: grpc.ServiceDefinition;
  maintenance: grpc.ServiceDefinition;
  cluster: grpc.ServiceDefinition;
} {
  const s = etcdServices();
  return { kv: s.KV.service, maintenance: s.Maintenance.service, cluster: s.Cluster.service };
}
