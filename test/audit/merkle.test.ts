/**
 * RFC 9162 Merkle module: the RFC 6962 reference test tree (the eight leaves of the CT reference
 * implementations' tests, roots and proofs computed by them), then a property test over random
 * sizes: every inclusion and consistency proof built from stored perfect subtrees verifies, and
 * any altered byte, leaf or index fails.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  EMPTY_ROOT, appendNodes, consistencyPlan, coverNodes, frontierOf, inclusionPlan, leafHash, nodeHash,
  perfectCover, rangeHash, referenceRoot, verifyConsistency, verifyInclusion,
} from '../../src/audit/merkle.ts';
import { fromHex, toHex } from '../../src/crypto/bytes.ts';

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** An in-memory node store built only through appendNodes, as the server's repo builds its table. */
function buildStore(leafHashes: Uint8Array[], batch = 3): Map<string, Uint8Array> {
  const store = new Map<string, Uint8Array>();
  let size = 0;
  let frontier: Uint8Array[] = [];
  for (let i = 0; i < leafHashes.length; i += batch) {
    const out = appendNodes(size, frontier, leafHashes.slice(i, i + batch));
    for (const n of out.nodes) store.set(`${n.level}:${n.index}`, n.hash);
    size += Math.min(batch, leafHashes.length - i);
    frontier = out.frontier;
    assert.deepEqual(frontier.map(toHex), frontierOf(size).map((id) => toHex(store.get(`${id.level}:${id.index}`)!)));
  }
  return store;
}
const getter = (store: Map<string, Uint8Array>) => (level: number, index: number) => {
  const h = store.get(`${level}:${index}`);
  if (!h) throw new Error(`node ${level}:${index} not stored`);
  return h;
};
const prove = (store: Map<string, Uint8Array>, ranges: { start: number; end: number }[]) => ranges.map((r) => rangeHash(r, getter(store)));

test('hashes: leaf 0x00 and node 0x01 prefixes, empty tree', () => {
  assert.equal(toHex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.deepEqual(leafHash(fromHex('abcd')), sha256(fromHex('00abcd')));
  const l = new Uint8Array(32).fill(1), r = new Uint8Array(32).fill(2);
  assert.deepEqual(nodeHash(l, r), sha256(new Uint8Array([1, ...l, ...r])));
});

test('RFC 6962 reference tree: MTH of every prefix, by definition and from stored subtrees', () => {
  const hashes = LEAVES.map(leafHash);
  const store = buildStore(hashes);
  for (let n = 1; n <= 8; n++) {
    assert.equal(toHex(referenceRoot(hashes.slice(0, n))), ROOTS[n - 1], `reference MTH of size ${n}`);
    assert.equal(toHex(rangeHash({ start: 0, end: n }, getter(store))), ROOTS[n - 1], `stored MTH of size ${n}`);
  }
});

test('RFC 6962 reference tree: known inclusion and consistency proofs', () => {
  const store = buildStore(LEAVES.map(leafHash));
  assert.deepEqual(prove(store, inclusionPlan(0, 8)).map(toHex), [
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ]);
  assert.deepEqual(prove(store, inclusionPlan(5, 8)).map(toHex), [
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ]);
  // Hand-derived shapes (RFC 9162 §2.1.5's example tree of 7 leaves): which subtrees a proof names.
  assert.deepEqual(inclusionPlan(3, 7), [{ start: 2, end: 3 }, { start: 0, end: 2 }, { start: 4, end: 7 }]);
  assert.deepEqual(consistencyPlan(3, 7), [{ start: 2, end: 3 }, { start: 3, end: 4 }, { start: 0, end: 2 }, { start: 4, end: 7 }]);
  assert.deepEqual(consistencyPlan(4, 7), [{ start: 4, end: 7 }]);
  assert.deepEqual(consistencyPlan(6, 7), [{ start: 4, end: 6 }, { start: 6, end: 7 }, { start: 0, end: 4 }]);
  assert.deepEqual(consistencyPlan(7, 7), []);
  assert.deepEqual(prove(store, consistencyPlan(1, 8)).map(toHex), prove(store, inclusionPlan(0, 8)).map(toHex));
  for (let m = 1; m <= 8; m++) for (let n = m; n <= 8; n++) {
    const ok = m === n ? verifyConsistency(m, n, fromHex(ROOTS[m - 1]!), fromHex(ROOTS[n - 1]!), [])
      : verifyConsistency(m, n, fromHex(ROOTS[m - 1]!), fromHex(ROOTS[n - 1]!), prove(store, consistencyPlan(m, n)));
    assert.ok(ok, `consistency ${m} → ${n}`);
  }
});

test('perfectCover: aligned, disjoint, O(log n) subtrees', () => {
  assert.deepEqual(perfectCover({ start: 0, end: 7 }), [{ level: 2, index: 0 }, { level: 1, index: 2 }, { level: 0, index: 6 }]);
  assert.equal(perfectCover({ start: 0, end: 2 ** 20 - 1 }).length, 20);
  assert.equal(coverNodes(inclusionPlan(12345, 1_000_000)).length <= 2 * 20, true);
});

const flip = (h: Uint8Array, i: number) => { const c = Uint8Array.from(h); c[i % c.length]! ^= 1 << (i % 8); return c; };

test('property: every proof verifies; any altered byte, leaf or index fails', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 7 }), fc.nat(), fc.nat(), fc.nat(), (n, batch, a, b, bit) => {
    const hashes = Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`record ${i}`)));
    const store = buildStore(hashes, batch);
    const root = rangeHash({ start: 0, end: n }, getter(store));
    assert.deepEqual(root, referenceRoot(hashes));
    const m = a % n;
    const proof = prove(store, inclusionPlan(m, n));
    assert.ok(verifyInclusion(m, n, hashes[m]!, proof, root));
    assert.equal(verifyInclusion(m, n, flip(hashes[m]!, bit), proof, root), false);
    assert.equal(verifyInclusion(m, n, hashes[m]!, proof, flip(root, bit)), false);
    if (proof.length > 0) {
      const j = bit % proof.length;
      assert.equal(verifyInclusion(m, n, hashes[m]!, proof.map((p, i) => i === j ? flip(p, bit) : p), root), false);
      assert.equal(verifyInclusion(m, n, hashes[m]!, proof.slice(1), root), false);
      assert.equal(verifyInclusion(m, n, hashes[m]!, [...proof, proof[0]!], root), false);
    }
    if (n > 1) assert.equal(verifyInclusion((m + 1) % n, n, hashes[m]!, proof, root), false);
    const s1 = 1 + (b % n);
    const root1 = referenceRoot(hashes.slice(0, s1));
    const cproof = prove(store, consistencyPlan(s1, n));
    assert.ok(verifyConsistency(s1, n, root1, root, cproof));
    assert.equal(verifyConsistency(s1, n, flip(root1, bit), root, cproof), false);
    if (s1 < n) {
      assert.equal(verifyConsistency(s1, n, root1, flip(root, bit), cproof), false);
      const j = bit % cproof.length;
      assert.equal(verifyConsistency(s1, n, root1, root, cproof.map((p, i) => i === j ? flip(p, bit) : p)), false);
      assert.equal(verifyConsistency(s1, n, root1, root, []), false);
    }
  }), { numRuns: 150, seed: Number(process.env.FC_SEED ?? Date.now() % 1_000_000) });
});

test('verifiers never throw on malformed input', () => {
  const h = new Uint8Array(32);
  assert.equal(verifyInclusion(-1, 1, h, [], h), false);
  assert.equal(verifyInclusion(0, 0, h, [], h), false);
  assert.equal(verifyInclusion(0, 1, new Uint8Array(31), [], h), false);
  assert.equal(verifyInclusion(0, 2, h, [new Uint8Array(5)], h), false);
  assert.equal(verifyInclusion(0, 2, h, 'x' as never, h), false);
  assert.equal(verifyConsistency(0, 1, h, h, []), false);
  assert.equal(verifyConsistency(2, 1, h, h, []), false);
  assert.equal(verifyConsistency(1, 2, h, h, [null as never]), false);
  assert.throws(() => inclusionPlan(3, 3), RangeError);
  assert.throws(() => consistencyPlan(4, 3), RangeError);
});
