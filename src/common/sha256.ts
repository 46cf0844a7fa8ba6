// SHA-256 (FIPS 180-4) of a short string, in JavaScript, for the shared-key
// hint a build sends with every local directory (buildkit/solve-request.ts).
// Why not node:crypto: loading it took 5-10 ms of every run's start, and
// this hash of a path is all a plain-tcp build needs of it (BENCHMARKS.md,
// "Twentieth session"). Larger inputs (downloads, blobs) keep node:crypto.

/** The first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Uint32Array(64);
/** The same of the square roots of the first 8 primes: the initial state. */
const H0 = new Uint32Array(8);

function fractionBits(x: number): number {
  return ((x - Math.floor(x)) * 2 ** 32) >>> 0;
}

{
  let found = 0;
  for (let n = 2; found < 64; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false;
    if (!prime) continue;
    if (found < 8) H0[found] = fractionBits(Math.sqrt(n));
    K[found++] = fractionBits(Math.cbrt(n));
  }
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/** The SHA-256 digest of `data` (a string is hashed as UTF-8). */
export function sha256(data: string | Uint8Array): Buffer {
  const input = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  // Padding: a 1 bit, zeros, then the length in bits as 64 bits, to a multiple of 64 bytes.
  const blocks = Math.ceil((input.length + 9) / 64);
  const msg = Buffer.alloc(blocks * 64);
  msg.set(input);
  msg[input.length] = 0x80;
  const bits = input.length * 8;
  msg.writeUInt32BE(Math.floor(bits / 2 ** 32), msg.length - 8);
  msg.writeUInt32BE(bits >>> 0, msg.length - 4);

  const h = Uint32Array.from(H0);
  const w = new Uint32Array(64);
  for (let block = 0; block < blocks; block++) {
    for (let i = 0; i < 16; i++) w[i] = msg.readUInt32BE(block * 64 + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
      const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] = (h[0]! + a) >>> 0;
    h[1] = (h[1]! + b) >>> 0;
    h[2] = (h[2]! + c) >>> 0;
    h[3] = (h[3]! + d) >>> 0;
    h[4] = (h[4]! + e) >>> 0;
    h[5] = (h[5]! + f) >>> 0;
    h[6] = (h[6]! + g) >>> 0;
    h[7] = (h[7]! + hh) >>> 0;
  }
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 8; i++) out.writeUInt32BE(h[i]!, i * 4);
  return out;
}
