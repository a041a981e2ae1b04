/**
 * Event lines written as UTF-8 bytes into one reused buffer, so a flush makes no string
 * per event: constant parts are copied from pre-encoded bytes, ids and timestamps are
 * written digit by digit, and printable-ASCII strings (unit ids, almost always) byte by
 * byte. Anything else goes through JSON.stringify, so the output is always what
 * JSON.stringify would write for the same value.
 */
export class LineWriter {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;

  /** Writes into `buf` from its start (a journal slab); a line that does not fit moves the writing to a bigger buffer of its own. */
  use(buf: Buffer): void {
    this.buf = buf;
    this.pos = 0;
  }

  ensure(room: number): void {
    if (this.pos + room <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + room));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.ensure(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A string as a JSON string literal. */
  json(s: string): void {
    const n = s.length;
    this.ensure(n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.text(JSON.stringify(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = 0x22;
    this.pos = p;
  }
}

/** Timestamps as ISO 8601 text (Date#toISOString), with the part down to the second cached. */
export class IsoWriter {
  private second = NaN;
  private readonly head = Buffer.alloc(20);
  private plain = false;

  write(w: LineWriter, ms: number): void {
    const t = Math.floor(ms);
    const second = Math.floor(t / 1000);
    if (second !== this.second) {
      const iso = new Date(t).toISOString();
      // Years outside 0000-9999 are written with a sign and six digits; rare enough to format whole.
      this.plain = iso.length === 24;
      if (this.plain) this.head.write(iso, 0, 20, 'latin1');
      this.second = second;
    }
    if (!this.plain) {
      w.text(new Date(t).toISOString());
      return;
    }
    w.ensure(24);
    const buf = w.buf;
    const p = w.pos;
    buf.set(this.head, p);
    const milli = t - second * 1000;
    buf[p + 20] = 0x30 + Math.floor(milli / 100);
    buf[p + 21] = 0x30 + (Math.floor(milli / 10) % 10);
    buf[p + 22] = 0x30 + (milli % 10);
    buf[p + 23] = 0x5a;
    w.pos = p + 24;
  }
}

/** Text as UTF-8 bytes (experiment and service names need not be ASCII). */
export const utf8Bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
