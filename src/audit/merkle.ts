/**
 * RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing and proofs, §2.1: the hash of a leaf
 * is SHA-256(0x00 ‖ leaf), of an interior node SHA-256(0x01 ‖ left ‖ right); MTH(D[n]) splits at
 * the largest power of two k < n. Pure module, shared by the server (which builds proofs out of
 * stored subtree hashes) and the SDK (which verifies them): no `node:` import.
 *
 * Storage model: the server keeps the hash of every complete ("perfect") subtree as it forms,
 * addressed by (level, index) = the subtree over leaves [index·2^level, (index+1)·2^level). Any
 * RFC subtree D[a:b] that a root or proof needs is a right fold of at most log2(n) such perfect
 * subtrees ({@link perfectCover}), so roots and proofs need O(log n) stored nodes: the `*Plan`
 * functions say which ranges a proof consists of, {@link coverNodes} which stored nodes they need.
 *
 * @example
 * const plan = inclusionPlan(5, 7);                  // ranges [4,5) [6,7) [0,4)
 * const proof = plan.map((r) => rangeHash(r, get));  // get(level, index) → stored hash
 * verifyInclusion(5, 7, leafHash(leaf), proof, root); // true
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** Bytes of a SHA-256 hash, the size of every node and root. */
export const HASH_BYTES = 32;
/** Largest tree size handled (2^53 − 1: exact in a JS number). */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

/** The RFC 9162 hash of the empty tree, SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** SHA-256(0x00 ‖ leaf): the hash of one leaf (RFC 9162 §2.1.1). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  const buf = new Uint8Array(leaf.length + 1);
  buf.set(leaf, 1);
  return sha256(buf);
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an interior node (RFC 9162 §2.1.1). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A range of leaves [start, end) whose RFC 9162 subtree hash is a proof element. */
export interface LeafRange { start: number; end: number }
/** A stored perfect subtree: the hash over leaves [index·2^level, (index+1)·2^level). */
export interface NodeId { level: number; index: number }

function assertSize(n: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`${what} must be an integer ≥ ${min}`);
}

/**
 * The perfect subtrees whose right fold is the RFC 9162 hash of D[start:end], left to right. For
 * the ranges RFC 9162's recursion produces (start a multiple of a power of two ≥ end − start),
 * these are the binary digits of end − start, largest first; at most ⌈log2(n)⌉ + 1 of them.
 */
export function perfectCover(r: LeafRange): NodeId[] {
  const out: NodeId[] = [];
  let a = r.start;
  while (a < r.end) {
    let level = 0;
    // Grow while a stays aligned and the subtree fits.
    while (a % 2 ** (level + 1) === 0 && a + 2 ** (level + 1) <= r.end) level++;
    out.push({ level, index: a / 2 ** level });
    a += 2 ** level;
  }
  return out;
}

/** The RFC 9162 hash of D[start:end] from stored perfect subtree hashes (`get(level, index)`). */
export function rangeHash(r: LeafRange, get: (level: number, index: number) => Uint8Array): Uint8Array {
  if (r.end <= r.start) return EMPTY_ROOT;
  const parts = perfectCover(r).map((n) => get(n.level, n.index));
  let h = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) h = nodeHash(parts[i]!, h);
  return h;
}

/** The root of a tree of `size` leaves: MTH(D[0:size]). */
export const rootRange = (size: number): LeafRange => ({ start: 0, end: size });

/**
 * The proof elements of the inclusion of leaf m in a tree of n leaves, as ranges, in the order of
 * RFC 9162 §2.1.3.1 PATH(m, D[n]) (the sibling nearest the leaf first).
 */
export function inclusionPlan(m: number, n: number): LeafRange[] {
  assertSize(n, 'tree size', 1);
  assertSize(m, 'leaf index');
  if (m >= n) throw new RangeError('leaf index must be smaller than the tree size');
  const out: LeafRange[] = [];
  const path = (m: number, start: number, end: number): void => {
    const size = end - start;
    if (size <= 1) return;
    const k = splitPoint(size);
    if (m < k) { path(m, start, start + k); out.push({ start: start + k, end }); }
    else { path(m - k, start + k, end); out.push({ start, end: start + k }); }
  };
  path(m, 0, n);
  return out;
}

/**
 * The proof elements of the consistency of the tree of m leaves with the tree of n leaves
 * (0 < m ≤ n), as ranges, in the order of RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
 * m = n gives the empty proof.
 */
export function consistencyPlan(m: number, n: number): LeafRange[] {
  assertSize(n, 'tree size', 1);
  assertSize(m, 'first tree size', 1);
  if (m > n) throw new RangeError('the first tree size must not exceed the second');
  const out: LeafRange[] = [];
  const sub = (m: number, start: number, end: number, b: boolean): void => {
    const size = end - start;
    if (m === size) { if (!b) out.push({ start, end }); return; }
    const k = splitPoint(size);
    if (m <= k) { sub(m, start, start + k, b); out.push({ start: start + k, end }); }
    else { sub(m - k, start + k, end, false); out.push({ start, end: start + k }); }
  };
  sub(m, 0, n, true);
  return out;
}

/** The distinct stored nodes a list of ranges needs (to fetch them in one query). */
export function coverNodes(ranges: readonly LeafRange[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const r of ranges) for (const n of perfectCover(r)) seen.set(`${n.level}:${n.index}`, n);
  return [...seen.values()];
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

const wellFormed = (hs: readonly Uint8Array[]): boolean => hs.every((h) => h instanceof Uint8Array && h.length === HASH_BYTES);

/**
 * Verifies an inclusion proof, exactly the algorithm of RFC 9162 §2.1.3.2: true when `proof`
 * takes the hash of leaf `leafIndex` to `root` in a tree of `treeSize` leaves. Never throws on
 * malformed input (false).
 */
export function verifyInclusion(leafIndex: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize) || leafIndex < 0 || leafIndex >= treeSize) return false;
  if (!Array.isArray(proof) || !wellFormed([leaf, root, ...proof])) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * Verifies a consistency proof, exactly the algorithm of RFC 9162 §2.1.4.2: true when the tree of
 * `size1` leaves with root `root1` is a prefix of the tree of `size2` leaves with root `root2`.
 * size1 = size2 requires an empty proof and equal roots. Never throws on malformed input (false).
 */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size2 < size1) return false;
  if (!Array.isArray(proof) || !wellFormed([root1, root2, ...proof])) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  // Step 1: an empty path fails. Step 2: if size1 is an exact power of two, prepend first_hash.
  if (proof.length === 0) return false;
  const path = isPow2(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) { fn = (fn - 1) / 2; sn = Math.floor(sn / 2); }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, root1) && equal(sr, root2);
}

/** n is a power of two (n ≥ 1), for sizes beyond 32 bits too. */
function isPow2(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

/** MTH(D[n]) by the recursive definition of RFC 9162 §2.1.1 over leaf hashes (reference; tests). */
export function referenceRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  const n = leafHashes.length;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leafHashes[0]!;
  const k = splitPoint(n);
  return nodeHash(referenceRoot(leafHashes.slice(0, k)), referenceRoot(leafHashes.slice(k)));
}

/**
 * The perfect subtrees that appending leaves creates: given the hashes of the tree's right edge
 * (`frontier`: the perfect subtrees of the binary digits of `size`, largest first, as
 * {@link frontierOf} names them) and new leaf hashes, every new stored node (level 0 for the
 * leaves) and the new frontier. Work and output are O(k + log n) for k new leaves.
 */
export function appendNodes(size: number, frontier: readonly Uint8Array[], leaves: readonly Uint8Array[]): { nodes: Array<NodeId & { hash: Uint8Array }>; frontier: Uint8Array[] } {
  const ids = frontierOf(size);
  if (ids.length !== frontier.length) throw new RangeError('frontier does not match the tree size');
  const stack = ids.map((id, i) => ({ ...id, hash: frontier[i]! }));
  const nodes: Array<NodeId & { hash: Uint8Array }> = [];
  let n = size;
  for (const h of leaves) {
    let cur = { level: 0, index: n, hash: h };
    nodes.push(cur);
    // Merge while the top of the stack is the left sibling of cur.
    while (stack.length > 0 && stack[stack.length - 1]!.level === cur.level) {
      const left = stack.pop()!;
      cur = { level: cur.level + 1, index: left.index / 2, hash: nodeHash(left.hash, cur.hash) };
      nodes.push(cur);
    }
    stack.push(cur);
    n++;
  }
  return { nodes, frontier: stack.map((s) => s.hash) };
}

/** The perfect subtrees on the right edge of a tree of `size` leaves (its binary digits), largest first. */
export function frontierOf(size: number): NodeId[] {
  assertSize(size, 'tree size');
  return perfectCover({ start: 0, end: size });
}
