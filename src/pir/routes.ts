/** Handlers of the pir capability (thin: authorize, parse, call the service). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Handlers } from '../http/openapi.ts';
import type { Charge } from '../http/charge.ts';
import { AppError } from '../errors.ts';
import type { PirService } from './service.ts';
import { decodeRecordChanges } from './changes.ts';
import type { KeywordPirService } from './keyword-service.ts';
import { DIRECTORY_DB_NAME } from './directory-entry.ts';

/** Media type of PIR uploads, queries, answers and hints. */
export const OCTET = 'application/octet-stream';

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function binaryBody(req: FastifyRequest): Uint8Array {
  if (!(req.body instanceof Uint8Array)) throw new AppError('unsupported_media_type', `the body must be ${OCTET}`);
  return req.body;
}

/** `charge` bills anonymous pirQuery requests (by database size) to their address's CPU budget. */
export function pirHandlers(pir: PirService, charge: Charge, keyword: KeywordPirService): Handlers {
  type NameParams = { name: string };
  return {
    putPirDatabase: async (req: FastifyRequest, reply: FastifyReply) => {
      if (req.principal.kind !== 'admin') throw new AppError('forbidden', 'only the admin uploads PIR databases');
      const { name } = req.params as NameParams;
      const q = req.query as { recordSize?: number; queriesPerHint?: number; format?: 'records' | 'keyword'; maxValueSize?: number };
      if (name === DIRECTORY_DB_NAME) throw new AppError('forbidden', 'this database is maintained by the service (the key directory)');
      const body = binaryBody(req);
      const missing = (p: string): never => { throw new AppError('invalid_input', `${p} is required for format=${q.format ?? 'records'}`, { field: p }); };
      const config = q.format === 'keyword' ? await keyword.put(name, q.maxValueSize ?? missing('maxValueSize'), body)
        : await pir.put(name, q.recordSize ?? missing('recordSize'), body, q.queriesPerHint);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(config);
    },
    patchPirDatabase: async (req: FastifyRequest, reply: FastifyReply) => {
      if (req.principal.kind !== 'admin') throw new AppError('forbidden', 'only the admin patches PIR databases');
      const { name } = req.params as NameParams;
      const { baseVersion } = req.query as { baseVersion: number };
      if (name === DIRECTORY_DB_NAME) throw new AppError('forbidden', 'this database is maintained by the service (the key directory)');
      const body = binaryBody(req);
      // Decoded against the base version's shape, after the stale-version check (409 first).
      const config = await pir.applyRecordChanges(name, baseVersion, (p) => decodeRecordChanges(body, p.recordCount, p.recordSize));
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(config);
    },
    getPirHintDelta: async (req: FastifyRequest, reply: FastifyReply) => {
      const { from, version, format } = req.query as { from: number; version?: number; format?: 'rows' | 'auto' };
      const d = await pir.hintDelta((req.params as NameParams).name, from, version, format);
      reply.header('x-pir-version', String(d.version))
        .header('cache-control', version === undefined ? 'public, max-age=5' : 'public, max-age=31536000, immutable');
      return reply.type(OCTET).send(toBuffer(d.bytes));
    },
    getPirConfig: async (req: FastifyRequest, reply: FastifyReply) => {
      const config = await pir.config((req.params as NameParams).name);
      // Short: a new version must reach clients soon; the signature makes any copy verifiable.
      reply.header('cache-control', 'public, max-age=5');
      return config;
    },
    getPirHint: async (req: FastifyRequest, reply: FastifyReply) => {
      const { version } = req.query as { version?: number };
      const h = await pir.hint((req.params as NameParams).name, version);
      const etag = `"${h.sha256}"`;
      reply.header('etag', etag).header('x-pir-version', String(h.version)).header('x-content-sha256', h.sha256)
        .header('cache-control', version === undefined ? 'public, max-age=5' : 'public, max-age=31536000, immutable');
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(OCTET).send(toBuffer(h.bytes));
    },
    pirQuery: async (req: FastifyRequest, reply: FastifyReply) => {
      const { version } = req.query as { version: number };
      const out = await pir.query((req.params as NameParams).name, version, binaryBody(req), (matrixBytes) => charge(req, { op: 'pirQuery', matrixBytes }));
      reply.header('cache-control', 'no-store').header('x-pir-version', String(out.version));
      return reply.type(OCTET).send(toBuffer(out.answer));
    },
  } as unknown as Handlers;
}
