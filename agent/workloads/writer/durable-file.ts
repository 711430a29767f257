/**
 * Files of a run directory made durable (docs/data-path.md "Writer"): written under a `.tmp` name,
 * fsynced and renamed into place, so a crash leaves the old file or the new one, never half of one.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `name` in `dir` durably; the bytes written. */
export function writeAtomic(dir: string, name: string, data: Uint8Array | string): number {
  const tmp = join(dir, `${name}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
