/**
 * Password hashing: scrypt (node:crypto) with a random 16-byte salt per hash, stored as
 * `scrypt$N$r$p$<salt base64>$<hash base64>`. Hashing happens once, on the member that
 * receives UserAdd or UserChangePassword, so the replicated entry carries only the hash.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt's cost parameters: N = 2^14, r = 8, p = 1 (about 16 MiB and tens of milliseconds). */
const COST = { N: 16_384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function derive(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { ...params, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** A new salted hash of `password`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, COST);
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches `stored` (a hashPassword string); false for a malformed one. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await derive(password, salt, { N, r, p });
  return key.byteLength === expected.byteLength && timingSafeEqual(key, expected);
}

/** Whether a string has the shape of a stored hash (an entry from the log is checked before it is kept). */
export function isPasswordHash(s: string): boolean {
  return /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(s);
}

/** A fixed hash to verify against when the user does not exist, so the answer takes as long either way. */
let decoy: Promise<string> | undefined;

/** Spends the time of one verification, for an unknown user; always false. */
export async function verifyDecoy(password: string): Promise<false> {
  decoy ??= hashPassword('cairn-decoy-password');
  await verifyPassword(password, await decoy);
  return false;
}
