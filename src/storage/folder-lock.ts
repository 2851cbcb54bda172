/**
 * Whether a LevelDB folder's LOCK file is held right now, asked without opening the folder.
 * LevelDB holds a POSIX record lock on LOCK while a database is open; Linux lists every such
 * lock in /proc/locks by device and inode. Used to tell a folder that another member is
 * running with (whose tables change while they are read) from a damaged one.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A device number as /proc/locks writes it: major and minor in hexadecimal. */
function deviceText(dev: number): string {
  const major = (dev & 0xfff00) >>> 8;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/** True when a process holds the folder's LOCK; false when none does, or where it cannot be known. */
export async function lockHeld(dir: string): Promise<boolean> {
  try {
    const lock = await stat(join(dir, 'LOCK'));
    const id = `${deviceText(lock.dev)}:${lock.ino}`;
    const locks = await readFile('/proc/locks', 'utf8');
    return locks.split('\n').some((line) => line.split(/\s+/).includes(id));
  } catch {
    return false;
  }
}
