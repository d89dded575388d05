/** Reads a file given on the command line as text, bounded: a directory, a FIFO or a device,
 * a file over the limit or bytes that are not UTF-8 are a usage error naming the file, never a
 * hang, an out-of-memory or an internal error. */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { MeshloadError, usageError } from './errors';

export function readInputFile(file: string, limitBytes: number, what: string, hint: string): string {
  // `what` names the kind of file in messages ('scenario'); '' for none.
  const named = what === '' ? file : `${what} ${file}`;
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw usageError(`cannot read ${named}: ${(error as Error).message}`, hint);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw usageError(`${named} is a directory`, hint);
    if (!stat.isFile()) throw usageError(`${named} is not a regular file`, hint);
    if (stat.size > limitBytes) throw usageError(`${named} is ${stat.size} bytes, more than the ${limitBytes} allowed`, hint);
    // One byte more than its size: a file that grows while it is read is refused, not cut.
    const buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > stat.size) throw usageError(`${named} changed while it was read`, hint);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw usageError(`${named} is not UTF-8 text`, hint);
    }
  } catch (error) {
    if (error instanceof MeshloadError) throw error;
    throw usageError(`cannot read ${named}: ${(error as Error).message}`, hint);
  } finally {
    closeSync(fd);
  }
}
