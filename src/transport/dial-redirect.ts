/**
 * A fault-injection hook, off by default: with CAIRN_FAULT_PEER_DIAL set to a JSON object
 * {"<peer URL>": "<URL to dial instead>"}, this member dials those peers at the given
 * addresses, which is how the chaos harness (test/chaos) puts a TCP proxy it controls on
 * every member-to-member path and cuts them to make network partitions. Unset (always, in
 * production), every peer is dialled at its own URL. Read once, at the first dial.
 */

/** The environment variable that enables the hook. */
export const PEER_DIAL_ENV = 'CAIRN_FAULT_PEER_DIAL';

let redirects: ReadonlyMap<string, string> | undefined;

function table(): ReadonlyMap<string, string> {
  if (redirects === undefined) {
    const raw = process.env[PEER_DIAL_ENV];
    const parsed: unknown = raw ? JSON.parse(raw) : {};
    const map = new Map<string, string>();
    if (typeof parsed === 'object' && parsed !== null)
      for (const [from, to] of Object.entries(parsed)) if (typeof to === 'string') map.set(from, to);
    redirects = map;
  }
  return redirects;
}

/** The URL to dial for a peer URL: itself, unless the fault hook redirects it. */
export function peerDialUrl(url: string): string {
  return table().get(url) ?? url;
}
