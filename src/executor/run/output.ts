/** Output of a RUN: split into lines for streaming, and the most recent bytes kept for error reports. */
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is passed on in pieces rather than buffered without bound. */
export const MAX_LINE_CHARS = 64 * 1024;

/**
 * Splits a byte stream into lines ("\n", with a trailing "\r" dropped), decoding UTF-8 across
 * chunk boundaries. `end()` emits a final line without newline, if any.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly emit: (line: string) => void) {}

  write(chunk: Buffer): void {
    this.push(this.decoder.write(chunk));
  }

  end(): void {
    this.push(this.decoder.end());
    if (this.partial !== '') this.emitLine(this.partial);
    this.partial = '';
  }

  private push(text: string): void {
    if (text === '') return;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) this.emitLine(line);
    while (this.partial.length > MAX_LINE_CHARS) {
      this.emit(this.partial.slice(0, MAX_LINE_CHARS));
      this.partial = this.partial.slice(MAX_LINE_CHARS);
    }
  }

  private emitLine(line: string): void {
    this.emit(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/** Keeps the last `limit` bytes written. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  write(chunk: Buffer): void {
    if (this.limit <= 0) return;
    if (chunk.length >= this.limit) {
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.limit))];
      this.size = this.limit;
      return;
    }
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
  }

  /** The kept bytes as text; a UTF-8 sequence cut at the start is dropped rather than shown as U+FFFD. */
  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.limit) buf = buf.subarray(buf.length - this.limit);
    let start = 0;
    while (start < buf.length && start < 4 && (buf[start]! & 0xc0) === 0x80) start++;
    return buf.subarray(start).toString('utf8');
  }
}
