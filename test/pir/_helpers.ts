/** Fills any typed array with CSPRNG bytes (getRandomValues takes at most 64 KiB per call). */
export function fillRandom<T extends Int8Array | Uint8Array | Uint32Array>(arr: T): T {
  const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return arr;
}
