/**
 * gRPC length-prefixed message framing (gRPC over HTTP/2 spec): each message is
 * `compressed-flag(1) length(4, BE) bytes`, and messages run across DATA frames freely.
 * The counter walks those prefixes as DATA pieces arrive, keeping only the 5-byte prefix
 * in memory, so any message size costs nothing.
 */

const PREFIX = 5;

export class GrpcMessageCounter {
  /** Complete messages seen. */
  messages = 0;
  /** Of those, how many had the compressed flag set. */
  compressed = 0;
  /** Bytes of message content (prefixes excluded). */
  bytes = 0;
  /** A flag byte other than 0/1 was seen: not gRPC framing, counting stopped. */
  malformed = false;
  private readonly prefix = Buffer.alloc(PREFIX);
  private prefixLen = 0;
  private remaining = 0;
  private inMessage = false;
  private flag = 0;

  /** True while a message has started but not all of it has arrived. */
  get partial(): boolean {
    return this.inMessage || this.prefixLen > 0;
  }

  push(piece: Buffer): void {
    let pos = 0;
    while (pos < piece.length && !this.malformed) {
      if (this.inMessage) {
        const take = Math.min(this.remaining, piece.length - pos);
        this.remaining -= take;
        this.bytes += take;
        pos += take;
        if (this.remaining === 0) this.finish();
        continue;
      }
      const take = Math.min(PREFIX - this.prefixLen, piece.length - pos);
      piece.copy(this.prefix, this.prefixLen, pos, pos + take);
      this.prefixLen += take;
      pos += take;
      if (this.prefixLen < PREFIX) return;
      this.prefixLen = 0;
      this.flag = this.prefix[0]!;
      if (this.flag > 1) {
        this.malformed = true;
        return;
      }
      this.remaining = this.prefix.readUInt32BE(1);
      this.inMessage = true;
      if (this.remaining === 0) this.finish();
    }
  }

  private finish(): void {
    this.inMessage = false;
    this.messages++;
    if (this.flag === 1) this.compressed++;
  }
}
