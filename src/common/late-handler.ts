/**
 * A callback that may fire before its handler exists. A member's node and transport start
 * delivering (a fatal error, a removal) while start-up is still binding its listeners, and
 * the handlers that stop the member are set only at the end; a call in between used to be
 * dropped, leaving a member whose node had failed running without serving. The first call
 * made before the handler is set is kept and handed to the handler when it is set.
 */
export class LateHandler<A> {
  private handler: ((arg: A) => void) | undefined;
  private early: { arg: A } | undefined;

  /** Calls the handler, or keeps the first early call for it. */
  readonly call = (arg: A): void => {
    if (this.handler) this.handler(arg);
    else this.early ??= { arg };
  };

  /** Sets the handler (once) and hands it a call that came before. */
  set(handler: (arg: A) => void): void {
    if (this.handler) throw new Error('the handler is already set');
    this.handler = handler;
    const early = this.early;
    this.early = undefined;
    if (early) handler(early.arg);
  }
}
