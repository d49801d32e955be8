/**
 * Copies `source` into `target` at `offset` with one memcpy. Where either side
 * is shared memory, `TypedArray.set` (and so `Buffer.copy`) moves the bytes one
 * relaxed atomic word at a time: filling chunk bodies that way cost a restore's
 * main thread a third of a second per gigabyte. `fill` with a value exactly the
 * range's length is a plain copy in Node's C++, whatever the memory.
 */
export function copyBytes(target: Buffer, offset: number, source: Uint8Array): void {
  if (source.length === 0) return; // `fill` refuses an empty value
  target.fill(source, offset, offset + source.length);
}
