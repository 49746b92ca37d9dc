/**
 * The shape rule: how many records go down one column of the SimplePIR matrix. Pure module (no
 * `node:` imports) shared by the server, which picks the shape at upload, and the SDK, which
 * recomputes it from the signed (recordCount, recordSize, queriesPerHint) and accepts nothing else.
 *
 * A client downloads the hint once (rows·n·4 bytes) and then, per query, uploads cols·4 bytes and
 * downloads rows·4 bytes. For Q expected queries per hint its total traffic is
 *
 *   T(k) = 4·n·rows + Q·4·(cols + rows),  rows = k·S,  cols = ceil16(ceil(N / k)),
 *
 * with k = records per column, N records of S bytes. Ignoring the rounding, T is minimised at
 * k* = sqrt(Q·N / (S·(n + Q))); the rule evaluates T exactly for every k in a window around k* and
 * keeps the cheapest feasible one (smallest k on a tie). Feasible: cols within the correctness cap
 * for those rows (params.ts `maxColsFor`) and a query of at most MAX_QUERY_BYTES. Few queries per
 * hint favour a short, wide matrix (small hint, large query); many favour the square shape.
 * docs/PIR.md has the table for 4, 64 and 256 MiB.
 */

/** Default expected number of queries a client makes per hint it downloads (docs/PIR.md, Shape rule). */
export const DEFAULT_QUERIES_PER_HINT = 16;
/** Largest accepted queriesPerHint (beyond it the square shape is already optimal for every size). */
export const MAX_QUERIES_PER_HINT = 1 << 20;
/** Largest query the rule chooses when any shape allows it: 1 MiB (cols ≤ 262,144). */
export const MAX_QUERY_BYTES = 1 << 20;

/** What the rule needs from params.ts (passed in, so this module and params.ts import nothing from each other). */
export interface ShapeLimits {
  /** LWE dimension. */
  readonly n: number;
  /** cols is a multiple of this. */
  readonly colAlign: number;
  /** Largest cols meeting the correctness bound for `rows`. */
  readonly maxColsFor: (rows: number) => number;
}

/** A matrix shape: records per column, rows = recordsPerColumn · recordSize, cols (aligned). */
export interface PirShape {
  readonly recordsPerColumn: number;
  readonly rows: number;
  readonly cols: number;
}

/** Bytes a client moves for one shape: the hint once, then per query an upload and an answer. */
export interface ShapeTraffic {
  readonly hint: number;
  readonly query: number;
  readonly answer: number;
  /** hint + queriesPerHint · (query + answer). */
  readonly total: number;
}

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/** The shape with `perCol` records per column. */
export function shapeFor(recordCount: number, recordSize: number, perCol: number, colAlign: number): PirShape {
  return { recordsPerColumn: perCol, rows: perCol * recordSize, cols: roundUp(Math.ceil(recordCount / perCol), colAlign) };
}

/** Traffic of a shape for `queriesPerHint` queries per hint. */
export function shapeTraffic(shape: PirShape, n: number, queriesPerHint: number): ShapeTraffic {
  const hint = shape.rows * n * 4, query = shape.cols * 4, answer = shape.rows * 4;
  return { hint, query, answer, total: hint + queriesPerHint * (query + answer) };
}

const feasible = (s: PirShape, limits: ShapeLimits): boolean =>
  s.cols <= limits.maxColsFor(s.rows) && s.cols * 4 <= MAX_QUERY_BYTES;

/**
 * The download-minimising shape for `queriesPerHint` (see the module comment). Inputs are assumed
 * validated by the caller (params.ts `choosePirParams`): positive integers, N·S ≤ 2^30.
 * Bounded: at most ~2·10^4 evaluations in the window, plus a walk up to the first feasible k
 * (immediate for every supported size: the 1 MiB query cap binds first, at k ≥ N / 2^18).
 *
 * @example chooseShape(1 << 21, 32, 16, limits) // 64 MiB: 27 records/column, rows 864, cols 77,680
 */
export function chooseShape(recordCount: number, recordSize: number, queriesPerHint: number, limits: ShapeLimits): PirShape {
  const { n, colAlign } = limits;
  let kFeasible = Math.max(1, Math.ceil(recordCount / (MAX_QUERY_BYTES / 4)));
  while (kFeasible < recordCount && !feasible(shapeFor(recordCount, recordSize, kFeasible, colAlign), limits)) kFeasible++;
  const kStar = Math.sqrt((queriesPerHint * recordCount) / (recordSize * (n + queriesPerHint)));
  const w = Math.max(64, Math.min(kStar * 0.1, 10_000));
  const lo = Math.max(kFeasible, Math.floor(kStar - w));
  const hi = Math.min(recordCount, Math.ceil(kStar + w));
  let best = shapeFor(recordCount, recordSize, Math.min(recordCount, lo), colAlign);
  let bestCost = shapeTraffic(best, n, queriesPerHint).total;
  for (let k = lo + 1; k <= hi; k++) {
    const s = shapeFor(recordCount, recordSize, k, colAlign);
    const cost = shapeTraffic(s, n, queriesPerHint).total;
    if (cost < bestCost && feasible(s, limits)) {
      best = s;
      bestCost = cost;
    }
  }
  return best;
}

/**
 * The square rule of the first release (rows ≈ sqrt(N·S)); kept so versions stored before the
 * download-minimising rule (params without queriesPerHint) still verify and load.
 */
export function squareShape(recordCount: number, recordSize: number, limits: ShapeLimits): PirShape {
  const total = recordCount * recordSize;
  let perCol = Math.min(recordCount, Math.max(1, Math.round(Math.sqrt(total) / recordSize)));
  let s = shapeFor(recordCount, recordSize, perCol, limits.colAlign);
  while (s.cols > limits.maxColsFor(s.rows) && perCol < recordCount) s = shapeFor(recordCount, recordSize, ++perCol, limits.colAlign);
  return s;
}
