/**
 * Decoded chunks by digest, the most recently used kept up to `maxBytes`
 * (least recently used dropped first). Reading a file in place asks for the
 * same chunk once per file-system block, thousands of times in a row; this is
 * what makes that one fetch and one decode. Two readers asking for a chunk at
 * once share its one fetch.
 */
export class ChunkCache {
  private readonly chunks = new Map<string, Buffer>();
  private readonly pending = new Map<string, Promise<Buffer>>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  async get(digest: string, load: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.chunks.get(digest);
    if (hit) {
      this.chunks.delete(digest);
      this.chunks.set(digest, hit);
      return hit;
    }
    let loading = this.pending.get(digest);
    if (!loading) {
      loading = load().finally(() => this.pending.delete(digest));
      this.pending.set(digest, loading);
      loading.then((buf) => this.keep(digest, buf), () => undefined);
    }
    return loading;
  }

  get size(): number {
    return this.bytes;
  }

  private keep(digest: string, buf: Buffer): void {
    if (buf.length > this.maxBytes || this.chunks.has(digest)) return;
    this.chunks.set(digest, buf);
    this.bytes += buf.length;
    for (const [oldest, old] of this.chunks) {
      if (this.bytes <= this.maxBytes) break;
      this.chunks.delete(oldest);
      this.bytes -= old.length;
    }
  }
}
