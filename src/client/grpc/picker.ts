/**
 * The picker of the `cairn_balancer` policy: one of the SDK's Balancers chooses an instance
 * among those with a READY connection, and the pick is that instance's own (pick-first)
 * picker. For balancers that count calls in flight (least connections), each call is
 * bracketed with begin/end through grpc-js's onCallStarted/onCallEnded hooks.
 */
import * as grpc from '@grpc/grpc-js';
import type { Balancer, Instance } from '../balancers/types.js';
import { BALANCER_KEY_HEADER, tracksCalls } from './options.js';

type Picker = grpc.experimental.Picker;
type PickArgs = grpc.experimental.PickArgs;
type PickResult = grpc.experimental.PickResult;

/** Delegates the choice to a Balancer and the pick to the chosen instance's connection. */
export class CairnPicker implements Picker {
  constructor(
    private readonly balancer: Balancer,
    /** The picker of each READY instance's connection, by address. */
    private readonly byAddress: ReadonlyMap<string, Picker>,
  ) {}

  /** Chooses the instance for one call with the Balancer, and answers that instance's connection's pick. */
  pick(args: PickArgs): PickResult {
    const key = args.metadata.get(BALANCER_KEY_HEADER)[0];
    const chosen: Instance | undefined = this.balancer.pick(typeof key === 'string' ? key : undefined);
    const child = chosen ? this.byAddress.get(chosen.address) : undefined;
    if (!chosen || !child) {
      return new grpc.experimental.UnavailablePicker({
        details: 'cairn_balancer: no eligible instance (SERVING with a positive weight) is connected',
      }).pick(args);
    }
    const result = child.pick(args);
    const balancer = this.balancer;
    if (result.pickResultType !== grpc.experimental.PickResultType.COMPLETE || !tracksCalls(balancer)) {
      return result;
    }
    const id = chosen.id;
    return {
      ...result,
      onCallStarted: () => {
        balancer.begin(id);
        result.onCallStarted?.();
      },
      onCallEnded: (code, details, metadata) => {
        balancer.end(id);
        result.onCallEnded?.(code, details, metadata);
      },
    };
  }
}
