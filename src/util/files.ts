/**
 * Reading the operator's local files that the inventory or a flag names: the inventory itself,
 * SSH keys, known_hosts, password files, CA bundles. Only regular files are read, and only up to a
 * limit, so a FIFO, a device (`-i /dev/zero`), a directory or a huge file is refused at once with
 * a ConfigError naming the path, instead of hanging or filling memory.
 */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { ConfigError } from '../errors.js';
import { an } from './kind.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Size limits, in bytes: far above any real file of the kind, small enough to parse at once. */
export const FILE_LIMITS = {
  /**
   * A thousand hosts, one line each, are about 50 KB. The YAML parser needs up to half a second of
   * CPU for 128 KiB (a flow sequence of one-character items), a second for twice that.
   */
  inventory: 128 * KiB,
  /** One line per host key: tens of thousands of hosts. */
  knownHosts: 8 * MiB,
  /** An OpenSSH RSA-16384 private key is about 13 KB. */
  identity: 64 * KiB,
  /** A password or passphrase file. */
  secret: 64 * KiB,
  /** A CA bundle rarely passes 300 KB. */
  ca: 1 * MiB,
  /** One wheel of the wheelhouse: the session backends' client libraries are well under 10 MB. */
  wheel: 64 * MiB,
} as const;

/**
 * The files of a directory whose names end with `suffix`, each checked like {@link readLocalFile}
 * checks a file (regular, at most `limit` bytes) but not read.
 *
 * @throws {ConfigError} naming the directory or the file
 */
export async function listLocalFiles(dir: string, suffix: string, what: string, limit: number): Promise<string[]> {
  let names: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new ConfigError(`${what} ${dir} is ${kind(st)}, not a directory`);
    names = (await readdir(dir)).filter((n) => n.endsWith(suffix)).sort();
    for (const name of names) refuse(await stat(join(dir, name)), `${what} file ${join(dir, name)}`, limit);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(readProblem(`${what} ${dir}`, err));
  }
  return names;
}

/**
 * The bytes of a regular file of at most `limit` bytes.
 *
 * @param what the file as messages name it, path included (like `inventory file /etc/x.yaml`)
 * @throws {ConfigError} when it is missing, unreadable, not a regular file or larger than `limit`
 */
export async function readLocalFile(file: string, what: string, limit: number): Promise<Buffer> {
  const bytes = await read(file, what, limit, false);
  return bytes as Buffer;
}

/** Like {@link readLocalFile}, but a missing file is `undefined` (an absent known_hosts is empty). */
export function readLocalFileIfExists(file: string, what: string, limit: number): Promise<Buffer | undefined> {
  return read(file, what, limit, true);
}

async function read(file: string, what: string, limit: number, missingOk: boolean): Promise<Buffer | undefined> {
  try {
    // Checked before opening, so a device is never opened; again on the open file, which is what is read.
    refuse(await stat(file), what, limit);
    // O_NONBLOCK: a FIFO swapped in after the check still cannot block the open; O_NOCTTY: a tty never becomes ours.
    const fh = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
    try {
      const st = await fh.stat();
      refuse(st, what, limit);
      // The file may grow after fstat (or report size 0, like /proc files): read on, up to one byte past the limit.
      let buf = Buffer.alloc(Math.min(st.size, limit) + 1);
      let got = 0;
      for (;;) {
        if (got === buf.length) buf = Buffer.concat([buf, Buffer.alloc(Math.min(buf.length, limit + 1 - buf.length))]);
        const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
        if (bytesRead === 0) break;
        got += bytesRead;
        if (got > limit) throw new ConfigError(`${what} is more than the limit of ${size(limit)}`);
      }
      return buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(readProblem(what, err));
  }
}

function refuse(st: Stats, what: string, limit: number): void {
  if (!st.isFile()) throw new ConfigError(`${what} is ${kind(st)}, not a regular file`);
  if (st.size > limit) throw new ConfigError(`${what} is ${st.size} bytes, more than the limit of ${size(limit)}`);
}

function kind(st: Stats): string {
  return an(fileKind(st));
}

/** What a file system entry is, for messages: `regular file`, `FIFO (named pipe)`... */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isFIFO()) return 'FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  return 'special file';
}

function size(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} bytes`;
}

/** Why a file cannot be read, in words. */
export function readProblem(what: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${what} does not exist`;
  if (code === 'EACCES' || code === 'EPERM') return `cannot read ${what}: permission denied`;
  if (code === 'EISDIR') return `cannot read ${what}: it is a directory`;
  if (code === 'ENOTDIR') return `cannot read ${what}: a part of its path is not a directory`;
  return `cannot read ${what}: ${(err as Error).message}`;
}
