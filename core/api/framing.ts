/**
 * Newline-delimited JSON framing over a stream socket, with a hard line-size cap so a peer cannot make the
 * daemon buffer without bound. Used by both ends of the unix-socket API.
 */
import type { Readable } from 'node:stream';

/**
 * Calls `onLine(line)` for every complete `\n`-terminated line received on `sock` (a socket or any byte
 * stream; the line without its newline).
 * A line longer than `maxBytes` calls `onOversize()` once and discards input up to the next newline.
 */
export function readLines(
  sock: Readable,
  maxBytes: number,
  onLine: (line: string) => void,
  onOversize: () => void,
): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let discarding = false;
  sock.on('data', (data: Buffer) => {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(10, start);
      const end = nl === -1 ? data.length : nl;
      if (!discarding) {
        size += end - start;
        if (size > maxBytes) {
          discarding = true;
          chunks = [];
          onOversize();
        } else if (end > start) chunks.push(data.subarray(start, end));
      }
      if (nl === -1) break;
      if (!discarding) onLine(Buffer.concat(chunks).toString('utf8'));
      chunks = [];
      size = 0;
      discarding = false;
      start = nl + 1;
    }
  });
}
