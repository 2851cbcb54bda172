/**
 * Where the examples connect: CAIRN_ENDPOINTS (comma-separated host:port) or the local
 * cluster `npm start` runs.
 */
import { DEFAULT_ENDPOINTS } from '../src/client/index.js';

/** The endpoints from CAIRN_ENDPOINTS, or the local cluster's. */
export function exampleEndpoints(): string[] {
  const fromEnv = process.env.CAIRN_ENDPOINTS;
  return fromEnv ? fromEnv.split(',').map((e) => e.trim()) : [...DEFAULT_ENDPOINTS];
}

/** Whether a module is the script node was started with (so it runs its main). */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && new URL(moduleUrl).pathname === entry;
}
