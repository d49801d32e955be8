import { createCipheriv, createHash } from 'node:crypto';

/**
 * Seeded randomness for the benchmark disk. Everything derives from the seed and
 * a label, so one part of the generator can change without shifting the bytes of
 * every other part.
 */

function seedBytes(seed: string, label: string): Buffer {
  return createHash('sha256').update(`cairn-bench\0${seed}\0${label}`).digest();
}

/** sfc32: small, fast and well distributed; Math.random cannot be seeded. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string, label: string) {
    const s = seedBytes(seed, label);
    this.a = s.readUInt32LE(0);
    this.b = s.readUInt32LE(4);
    this.c = s.readUInt32LE(8);
    this.d = s.readUInt32LE(12) | 1;
    // The first outputs of sfc32 still echo the seed words.
    for (let i = 0; i < 16; i++) this.next32();
  }

  next32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Log-uniform in [min, max]: many small files, a few big ones, as on real disks. */
  logUniform(min: number, max: number): number {
    return Math.round(Math.exp(Math.log(min) + this.float() * (Math.log(max) - Math.log(min))));
  }
}

/**
 * Incompressible bytes: AES-256-CTR keystream under a key derived from the seed.
 * It runs at GB/s, where a JS generator would dominate the image build.
 */
export class ByteStream {
  private readonly cipher;
  private static readonly zeros = Buffer.alloc(1024 * 1024);

  constructor(seed: string, label: string) {
    const key = seedBytes(seed, label);
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  next(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    while (at < length) {
      const n = Math.min(length - at, ByteStream.zeros.length);
      this.cipher.update(ByteStream.zeros.subarray(0, n)).copy(out, at);
      at += n;
    }
    return out;
  }
}

/** A UUID (as mke2fs wants it) derived from the seed, so the superblock is repeatable too. */
export function seededUuid(seed: string, label: string): string {
  const h = seedBytes(seed, label).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
