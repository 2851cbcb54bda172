/**
 * Which tables a LevelDB folder's current version holds, read from its MANIFEST without
 * opening the database. A folder can hold other table files: a compaction cut short by a
 * crash leaves a partly written one that no version names (LevelDB deletes it when it opens
 * the folder). Only the tables the MANIFEST names are data.
 *
 * The formats (LevelDB's doc/log_format.md and version_edit.cc): CURRENT names the MANIFEST;
 * the MANIFEST is a log of 32 KiB blocks holding records, each with a seven-byte header
 * (masked CRC-32C, length, type) and split across blocks as FIRST/MIDDLE/LAST pieces; each
 * record is a version edit, a list of tagged fields, of which the added and deleted files
 * give the live set.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LevelFormatDamage, maskedCrcMatches, readLengthPrefixed, readVarint } from './leveldb-format.js';

const BLOCK_BYTES = 32 * 1024;
const HEADER_BYTES = 7;
enum RecordType {
  Zero = 0,
  Full = 1,
  First = 2,
  Middle = 3,
  Last = 4,
}
enum EditTag {
  Comparator = 1,
  LogNumber = 2,
  NextFileNumber = 3,
  LastSequence = 4,
  CompactPointer = 5,
  DeletedFile = 6,
  NewFile = 7,
  PrevLogNumber = 9,
}

/** The records of a LevelDB log file, reassembled; stops at a torn tail as LevelDB does. */
function* logRecords(file: Buffer): Generator<Buffer> {
  let pieces: Buffer[] = [];
  let at = 0;
  while (at + HEADER_BYTES <= file.length) {
    const blockLeft = BLOCK_BYTES - (at % BLOCK_BYTES);
    if (blockLeft < HEADER_BYTES) {
      at += blockLeft; // the block's zero-filled trailer
      continue;
    }
    const length = file.readUInt16LE(at + 4);
    const type = file[at + 6]!;
    const end = at + HEADER_BYTES + length;
    if (end > file.length || length > blockLeft - HEADER_BYTES) return; // torn at the tail
    if (type === RecordType.Zero && length === 0) return; // preallocated space
    if (!maskedCrcMatches(file.subarray(at + 6, end), file.readUInt32LE(at)))
      throw new LevelFormatDamage(`the record at byte ${at} fails its checksum`);
    const data = file.subarray(at + HEADER_BYTES, end);
    at = end;
    if (type === RecordType.Full) yield data;
    else if (type === RecordType.First) pieces = [data];
    else if (type === RecordType.Middle) pieces.push(data);
    else if (type === RecordType.Last) {
      pieces.push(data);
      yield Buffer.concat(pieces);
      pieces = [];
    } else throw new LevelFormatDamage(`the record at byte ${at} has unknown type ${type}`);
  }
}

/** Applies one version edit's added and deleted files to the live set. */
function applyEdit(edit: Buffer, live: Set<number>): void {
  let at = 0;
  const varint = (): number => {
    const r = readVarint(edit, at, edit.length);
    at = r.next;
    return r.value;
  };
  const skipString = (): void => {
    at = readLengthPrefixed(edit, at, edit.length).next;
  };
  while (at < edit.length) {
    const tag = varint();
    switch (tag) {
      case EditTag.Comparator:
        skipString();
        break;
      case EditTag.LogNumber:
      case EditTag.PrevLogNumber:
      case EditTag.NextFileNumber:
      case EditTag.LastSequence:
        varint();
        break;
      case EditTag.CompactPointer:
        varint(); // level
        skipString();
        break;
      case EditTag.DeletedFile:
        varint(); // level
        live.delete(varint());
        break;
      case EditTag.NewFile:
        varint(); // level
        live.add(varint());
        varint(); // size
        skipString(); // smallest key
        skipString(); // largest key
        break;
      default:
        throw new LevelFormatDamage(`a version edit has unknown tag ${tag}`);
    }
  }
}

/**
 * The numbers of the tables the folder's current version holds; undefined when CURRENT or
 * its MANIFEST is missing, unreadable or damaged (LevelDB then refuses the folder with its
 * own message, or finds nothing to open).
 */
export async function liveTableNumbers(dir: string): Promise<Set<number> | undefined> {
  try {
    const current = (await readFile(join(dir, 'CURRENT'), 'utf8')).trim();
    if (!/^MANIFEST-\d+$/.test(current)) return undefined;
    const live = new Set<number>();
    for (const edit of logRecords(await readFile(join(dir, current)))) applyEdit(edit, live);
    return live;
  } catch (err) {
    if (err instanceof LevelFormatDamage || (err as NodeJS.ErrnoException).code !== undefined)
      return undefined;
    throw err;
  }
}
