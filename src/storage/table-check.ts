/**
 * Checks every LevelDB table (.ldb, .sst) in a data folder block by block before LevelDB
 * opens it. LevelDB as classic-level builds it reads tables without checking their block
 * checksums (neither paranoid_checks nor verify_checksums can be set from JavaScript), and a
 * damaged key inside a block can then stop the whole process on one of LevelDB's own
 * assertions, with no message naming the folder. Reading each table's footer, its index and
 * meta-index blocks, and every block they name, and checking each block's CRC-32C, turns such
 * damage into a CORRUPT error the member can report.
 *
 * The table format (LevelDB's doc/table_format.md): blocks, each followed by a five-byte
 * trailer (compression type, then the masked CRC-32C of the block and its type byte), and a
 * 48-byte footer holding the handles (offset and size, as varints) of the meta-index and
 * index blocks and a magic number. The index and meta-index blocks map keys to the handles
 * of the data and filter blocks.
 */

import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { uncompressSync } from 'snappy';
import { CairnError, ErrorCode } from '../common/errors.js';
import { LevelFormatDamage, maskedCrcMatches, readVarint } from './leveldb-format.js';
import { liveTableNumbers } from './leveldb-manifest.js';

const FOOTER_BYTES = 48;
const TRAILER_BYTES = 5;
/** The footer's last eight bytes, little-endian, as two 32-bit halves (low, high). */
const MAGIC_LOW = 0x8b80fb57;
const MAGIC_HIGH = 0xdb477524;
const NO_COMPRESSION = 0;
const SNAPPY_COMPRESSION = 1;
const TABLE_FILE = /^(\d+)\.(ldb|sst)$/;

/** Where a block lies in its table file (its trailer follows it). */
interface BlockHandle {
  readonly offset: number;
  readonly size: number;
}

/** A block that passed its check: where it lies and how it was stored. */
export interface CheckedBlock extends BlockHandle {
  readonly compression: 'none' | 'snappy';
}

function readHandle(b: Uint8Array, at: number, end: number): { handle: BlockHandle; next: number } {
  const offset = readVarint(b, at, end);
  const size = readVarint(b, offset.next, end);
  return { handle: { offset: offset.value, size: size.value }, next: size.next };
}

/** Checks one block's checksum and how it is stored, and notes it in checked. */
function checkBlock(file: Buffer, h: BlockHandle, blocksEnd: number, checked: CheckedBlock[]): CheckedBlock {
  const end = h.offset + h.size;
  if (end + TRAILER_BYTES > blocksEnd)
    throw new LevelFormatDamage(
      `a block handle (byte ${h.offset}, ${h.size} bytes) points past the table's blocks`,
    );
  if (!maskedCrcMatches(file.subarray(h.offset, end + 1), file.readUInt32LE(end + 1)))
    throw new LevelFormatDamage(`the block at byte ${h.offset} fails its checksum`);
  const type = file[end];
  if (type !== NO_COMPRESSION && type !== SNAPPY_COMPRESSION)
    throw new LevelFormatDamage(`the block at byte ${h.offset} has unknown compression type ${type}`);
  const block: CheckedBlock = {
    offset: h.offset,
    size: h.size,
    compression: type === NO_COMPRESSION ? 'none' : 'snappy',
  };
  checked.push(block);
  return block;
}

/** A checked block's contents, uncompressed (only index and meta-index blocks are read). */
function contentsOf(file: Buffer, block: CheckedBlock): Buffer {
  const contents = file.subarray(block.offset, block.offset + block.size);
  if (block.compression === 'none') return contents;
  try {
    return uncompressSync(contents, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw new LevelFormatDamage(
      `the block at byte ${block.offset} does not decompress: ${(err as Error).message}`,
    );
  }
}

/** The values of a block's entries (keys are not needed: every value here is a block handle). */
function* blockValues(block: Buffer): Generator<{ value: Uint8Array }> {
  if (block.length < 4) throw new LevelFormatDamage('a block is too short to hold its restart count');
  const restarts = block.readUInt32LE(block.length - 4);
  const entriesEnd = block.length - 4 - 4 * restarts;
  if (restarts < 1 || entriesEnd < 0)
    throw new LevelFormatDamage(`a block claims ${restarts} restart points`);
  let at = 0;
  while (at < entriesEnd) {
    const shared = readVarint(block, at, entriesEnd);
    const unshared = readVarint(block, shared.next, entriesEnd);
    const valueBytes = readVarint(block, unshared.next, entriesEnd);
    const valueAt = valueBytes.next + unshared.value;
    at = valueAt + valueBytes.value;
    if (at > entriesEnd) throw new LevelFormatDamage('a block entry runs past its block');
    yield { value: block.subarray(valueAt, at) };
  }
}

/** Checks every block of one table held in memory and lists them; throws naming the first problem. */
export function checkTable(file: Buffer): CheckedBlock[] {
  const checked: CheckedBlock[] = [];
  if (file.length < FOOTER_BYTES)
    throw new LevelFormatDamage(`it is ${file.length} bytes, shorter than a footer`);
  const footerAt = file.length - FOOTER_BYTES;
  if (file.readUInt32LE(file.length - 8) !== MAGIC_LOW || file.readUInt32LE(file.length - 4) !== MAGIC_HIGH)
    throw new LevelFormatDamage('its footer lacks the table magic number');
  const meta = readHandle(file, footerAt, file.length - 8);
  const index = readHandle(file, meta.next, file.length - 8);
  for (const top of [meta.handle, index.handle])
    for (const { value } of blockValues(contentsOf(file, checkBlock(file, top, footerAt, checked)))) {
      const { handle } = readHandle(value, 0, value.length);
      checkBlock(file, handle, footerAt, checked);
    }
  return checked;
}

/**
 * A read buffer used for one table after another. A fresh buffer per table costs a page fault
 * for every 4 KiB of it: on this project's VMs that was nine tenths of reading the tables.
 */
class ReadBuffer {
  private bytes: Buffer = Buffer.alloc(0);

  /** The buffer, at least size bytes long (its old contents are not kept). */
  atLeast(size: number): Buffer {
    if (this.bytes.length < size) this.bytes = Buffer.allocUnsafeSlow(size);
    return this.bytes;
  }
}

/**
 * A table's bytes, read into buffer (valid until the buffer is used again); one that vanished
 * after the folder was listed counts as damage.
 */
async function readTable(path: string, buffer: ReadBuffer): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new LevelFormatDamage('it vanished while it was read');
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const bytes = buffer.atLeast(size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await handle.read(bytes, read, size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return bytes.subarray(0, read);
  } finally {
    await handle.close();
  }
}

/**
 * Checks every table the folder's MANIFEST names (a folder that does not exist has none;
 * other table files are leftovers LevelDB deletes). Throws CORRUPT naming the table and the
 * damage, or a table the MANIFEST names that is not there.
 */
export async function checkTables(dir: string): Promise<void> {
  const live = await liveTableNumbers(dir);
  if (live === undefined) return; // LevelDB opens nothing there, or refuses with its own reason
  const files = new Map<number, string>();
  for (const name of await readdir(dir)) {
    const m = TABLE_FILE.exec(name);
    if (m && live.has(Number(m[1]))) files.set(Number(m[1]), name);
  }
  for (const number of live)
    if (!files.has(number))
      throw new CairnError(ErrorCode.CORRUPT, `table ${String(number).padStart(6, '0')}.ldb is missing`);
  const names = [...files.values()].sort();
  // The next table is read while this one is checked: two buffers, used in turn.
  const buffers = [new ReadBuffer(), new ReadBuffer()];
  const read = (i: number): Promise<Buffer> | undefined => {
    const name = names[i];
    if (name === undefined) return undefined;
    const bytes = readTable(join(dir, name), buffers[i % 2]!);
    bytes.catch(() => {}); // awaited below; a failure is reported there, for its own table
    return bytes;
  };
  let next = read(0);
  for (let i = 0; next; i++) {
    try {
      const bytes = await next;
      next = read(i + 1);
      checkTable(bytes);
    } catch (err) {
      if (!(err instanceof LevelFormatDamage)) throw err;
      throw new CairnError(ErrorCode.CORRUPT, `table ${names[i]}: ${err.message}`);
    }
  }
}
