/** The gRPC service definitions the client port serves, from proto/etcd. */
import type * as grpc from '@grpc/grpc-js';
import { etcdServices } from '../common/proto-loader.js';
import { acceptingEncodedResponses } from './watch-encoding.js';

/** Every etcd service Cairn serves on its client port, as etcd declares them. */
export interface ServiceDefinitions {
  readonly kv: grpc.ServiceDefinition;
  readonly watch: grpc.ServiceDefinition;
  readonly lease: grpc.ServiceDefinition;
  readonly cluster: grpc.ServiceDefinition;
  readonly maintenance: grpc.ServiceDefinition;
  readonly auth: grpc.ServiceDefinition;
  readonly lock: grpc.ServiceDefinition;
  readonly election: grpc.ServiceDefinition;
}

/** The service definitions of etcd's client API. */
export function serviceDefinitions(): ServiceDefinitions {
  const s = etcdServices();
  return {
    kv: s.KV.service,
    // The watch fan-out sends responses it encoded once for many watchers (watch-encoding.ts).
    watch: acceptingEncodedResponses(s.Watch.service, 'Watch'),
    lease: s.Lease.service,
    cluster: s.Cluster.service,
    maintenance: s.Maintenance.service,
    auth: s.Auth.service,
    lock: s.Lock.service,
    election: s.Election.service,
  };
}
