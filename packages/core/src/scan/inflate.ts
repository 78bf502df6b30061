/**
 * A small raw-DEFLATE inflater (RFC 1951) and CRC-32, pure and bounded. The scanner core may not
 * import node:zlib, and it must stop a zip bomb at a cap it chooses: output is written into a
 * buffer that grows only up to `maxOutput`, and the first byte beyond it stops inflation with
 * 'too-large' (so the work done is bounded by the cap, not by what the stream would produce).
 */

export class InflateError extends Error {
  override readonly name = 'InflateError';
  constructor(
    readonly reason: 'too-large' | 'invalid' | 'truncated',
    message: string,
  ) {
    super(message);
  }
}

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A Huffman code as a flat lookup table indexed by the next `bits` input bits (LSB first): each
 * entry is symbol << 4 | code length, 0 for bit patterns no code starts with.
 */
interface Huffman {
  readonly table: Int32Array;
  readonly bits: number;
}

function buildHuffman(lengths: Uint8Array): Huffman {
  const counts = new Uint16Array(16);
  for (const l of lengths) counts[l]!++;
  counts[0] = 0;
  // Over-subscribed code sets are invalid (incomplete ones are allowed, as zlib allows single codes).
  let left = 1;
  let bits = 0;
  for (let len = 1; len < 16; len++) {
    left = left * 2 - counts[len]!;
    if (left < 0) throw new InflateError('invalid', 'over-subscribed Huffman code');
    if (counts[len]! > 0) bits = len;
  }
  // RFC 1951 3.2.2: the first code of each length.
  const next = new Uint16Array(16);
  for (let len = 1, code = 0; len < 16; len++) {
    code = (code + counts[len - 1]!) << 1;
    next[len] = code;
  }
  const size = 1 << bits;
  const table = new Int32Array(size);
  for (let sym = 0; sym < lengths.length; sym++) {
    const len = lengths[sym]!;
    if (len === 0) continue;
    const code = next[len]!++;
    let reversed = 0;
    for (let k = 0; k < len; k++) reversed |= ((code >> k) & 1) << (len - 1 - k);
    for (let at = reversed; at < size; at += 1 << len) table[at] = (sym << 4) | len;
  }
  return { table, bits };
}

const FIXED = (() => {
  const lit = new Uint8Array(288);
  lit.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
  return { lit: buildHuffman(lit), dist: buildHuffman(new Uint8Array(30).fill(5)) };
})();

/** Bits LSB first. Reading past the end supplies zero bits (`pad`), and consuming one is 'truncated'. */
class BitReader {
  pos: number;
  private bitBuf = 0;
  private bitCount = 0;
  private pad = 0;
  constructor(
    private readonly data: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  private fill(n: number): void {
    while (this.bitCount < n) {
      if (this.pos < this.data.length) this.bitBuf |= this.data[this.pos++]! << this.bitCount;
      else this.pad += 8;
      this.bitCount += 8;
    }
  }

  private consume(n: number): void {
    this.bitBuf >>>= n;
    this.bitCount -= n;
    if (this.bitCount < this.pad) throw new InflateError('truncated', 'deflate data ends early');
  }

  bits(n: number): number {
    if (n === 0) return 0;
    this.fill(n);
    const v = this.bitBuf & ((1 << n) - 1);
    this.consume(n);
    return v;
  }

  decode(h: Huffman): number {
    if (this.bitCount < h.bits) this.fill(h.bits);
    const entry = h.table[this.bitBuf & ((1 << h.bits) - 1)]!;
    if (entry === 0) throw new InflateError('invalid', 'invalid Huffman code');
    const len = entry & 15;
    this.bitBuf >>>= len;
    this.bitCount -= len;
    if (this.bitCount < this.pad) throw new InflateError('truncated', 'deflate data ends early');
    return entry >> 4;
  }

  /** Drops the bits of a partial byte and returns whole buffered bytes to the input. */
  alignToByte(): void {
    this.consume(this.bitCount & 7);
    this.pos -= (this.bitCount - this.pad) >> 3;
    this.bitBuf = 0;
    this.bitCount = 0;
    this.pad = 0;
  }

  /** Input bytes used so far. */
  get consumed(): number {
    return this.pos - ((this.bitCount - this.pad) >> 3);
  }
}

class Output {
  buf: Uint8Array;
  length = 0;
  constructor(
    private readonly max: number,
    initial: number,
  ) {
    this.buf = new Uint8Array(Math.max(1024, Math.min(initial, max)));
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need > this.max) throw new InflateError('too-large', `inflates to more than ${this.max} bytes`);
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.min(this.max, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    if (this.length >= this.buf.length) this.ensure(1);
    this.buf[this.length++] = b;
  }

  copy(distance: number, length: number): void {
    if (distance > this.length) throw new InflateError('invalid', 'a back-reference points before the start');
    // Copy what fits first, so a head read gets every byte up to the cap.
    const fits = Math.min(length, this.max - this.length);
    this.ensure(fits);
    const buf = this.buf;
    let from = this.length - distance;
    for (let i = 0; i < fits; i++) buf[this.length++] = buf[from++]!;
    if (fits < length) this.ensure(length - fits);
  }

  bytes(src: Uint8Array): void {
    const fits = Math.min(src.length, this.max - this.length);
    this.ensure(fits);
    this.buf.set(src.subarray(0, fits), this.length);
    this.length += fits;
    if (fits < src.length) this.ensure(src.length - fits);
  }
}

/**
 * Inflates raw DEFLATE `data`. Output beyond `maxOutput` bytes stops with InflateError('too-large');
 * `expectedSize` only sizes the first allocation (it is capped by maxOutput).
 */
export function inflateRaw(data: Uint8Array, maxOutput: number, expectedSize = 0): { output: Uint8Array; consumed: number } {
  const r = new BitReader(data, 0);
  const out = new Output(maxOutput, expectedSize + 1);
  inflateInto(r, data, out);
  return { output: out.buf.subarray(0, out.length), consumed: r.consumed };
}

/**
 * The first `n` inflated bytes (for sniffing a member): stops at n, or where `data` (possibly a
 * prefix of the stream) ends. Empty when the data is not valid deflate.
 */
export function inflateHead(data: Uint8Array, n: number): Uint8Array {
  const out = new Output(n, n);
  try {
    inflateInto(new BitReader(data, 0), data, out);
  } catch (error) {
    if (!(error instanceof InflateError) || error.reason === 'invalid') return new Uint8Array(0);
  }
  return out.buf.subarray(0, out.length);
}

function inflateInto(r: BitReader, data: Uint8Array, out: Output): void {
  let last = 0;
  while (last === 0) {
    last = r.bits(1);
    const type = r.bits(2);
    if (type === 0) {
      r.alignToByte();
      if (r.pos + 4 > data.length) throw new InflateError('truncated', 'deflate data ends early');
      const len = data[r.pos]! | (data[r.pos + 1]! << 8);
      const nlen = data[r.pos + 2]! | (data[r.pos + 3]! << 8);
      if ((len ^ 0xffff) !== nlen) throw new InflateError('invalid', 'stored block length does not match its complement');
      r.pos += 4;
      if (r.pos + len > data.length) throw new InflateError('truncated', 'deflate data ends early');
      out.bytes(data.subarray(r.pos, r.pos + len));
      r.pos += len;
    } else if (type === 1 || type === 2) {
      let lit = FIXED.lit;
      let dist = FIXED.dist;
      if (type === 2) [lit, dist] = dynamicTables(r);
      for (;;) {
        const sym = r.decode(lit);
        if (sym < 256) out.byte(sym);
        else if (sym === 256) break;
        else {
          const li = sym - 257;
          if (li >= 29) throw new InflateError('invalid', 'invalid length symbol');
          const length = LENGTH_BASE[li]! + r.bits(LENGTH_EXTRA[li]!);
          const di = r.decode(dist);
          if (di >= 30) throw new InflateError('invalid', 'invalid distance symbol');
          out.copy(DIST_BASE[di]! + r.bits(DIST_EXTRA[di]!), length);
        }
      }
    } else throw new InflateError('invalid', 'invalid block type 3');
  }
}

function dynamicTables(r: BitReader): [Huffman, Huffman] {
  const hlit = r.bits(5) + 257;
  const hdist = r.bits(5) + 1;
  const hclen = r.bits(4) + 4;
  if (hlit > 286 || hdist > 30) throw new InflateError('invalid', 'too many length or distance codes');
  const clen = new Uint8Array(19);
  for (let i = 0; i < hclen; i++) clen[CODE_LENGTH_ORDER[i]!] = r.bits(3);
  const ch = buildHuffman(clen);
  const lengths = new Uint8Array(hlit + hdist);
  for (let i = 0; i < hlit + hdist; ) {
    const sym = r.decode(ch);
    if (sym < 16) lengths[i++] = sym;
    else {
      let repeat: number;
      let value = 0;
      if (sym === 16) {
        if (i === 0) throw new InflateError('invalid', 'repeat with no previous length');
        value = lengths[i - 1]!;
        repeat = 3 + r.bits(2);
      } else if (sym === 17) repeat = 3 + r.bits(3);
      else repeat = 11 + r.bits(7);
      if (i + repeat > hlit + hdist) throw new InflateError('invalid', 'code lengths overflow');
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
  }
  if (lengths[256] === 0) throw new InflateError('invalid', 'no end-of-block code');
  return [buildHuffman(lengths.subarray(0, hlit)), buildHuffman(lengths.subarray(hlit))];
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (the zip and zlib polynomial), continuing from `crc` (0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
