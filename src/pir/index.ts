/**
 * SimplePIR public API. Client (SDK): params, shape, matrixA, client, wire, changes, delta. Server: server, the
 * kernels, and worker.ts for a piscina pool (not re-exported: it is a worker entry point).
 * No module re-exported here imports `node:`.
 */
export {
  choosePirParams, assertPirParams, recordPosition, pirSizes, failureProbabilityLog2, maxColsFor, coreSvpPrimal,
  LWE_N, LOG_Q, LOG_P, DELTA, CBD_ETA, ERROR_SIGMA, MAX_DB_BYTES, MAX_RECORD_SIZE, PIR_SCHEME,
  type PirParams,
} from './params.ts';
export { expandA, expandAColumn, SEED_BYTES } from './matrixA.ts';
export { makeQuery, decode, PirQueryState, type MakeQueryOptions } from './client.ts';
export { u32ToBytes, bytesToU32 } from './wire.ts';
export {
  pirConfigSignedMessage, assertPirConfigShape, PIR_CONFIG_CONTEXT, PIR_CONFIG_LABEL, PIR_IDENTITY_ALGORITHM,
  type PirConfigJson, type UnsignedPirConfig,
} from './config.ts';
export {
  buildDatabase, layoutRecords, computeHint, computeHintColumns, placeHintColumns, answerQuery, allocateMatrix, partitionRows,
  type PirDatabase,
} from './server.ts';
export { referenceKernel, type PirKernel, type PirMatrix } from './reference-kernel.ts';
export { loadWasmKernel, WasmKernel } from './wasm-kernel.ts';
export {
  chooseShape, shapeTraffic, shapeFor, DEFAULT_QUERIES_PER_HINT, MAX_QUERIES_PER_HINT, MAX_QUERY_BYTES,
  type PirShape, type ShapeTraffic,
} from './shape.ts';
export { checkRecordChanges, encodeRecordChanges, decodeRecordChanges, type RecordChange } from './changes.ts';
export {
  applyChangesToMatrix, hintRowDeltas, addRowDeltas, encodeHintDelta, decodeHintDelta, applyHintDelta, extractRecords,
  type HintDelta, type RowDeltas,
} from './delta.ts';
