/** Handlers of the audit capability (thin: authorize, parse, call the service). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Handlers } from '../http/openapi.ts';
import { AppError } from '../errors.ts';
import type { AuditService } from './service.ts';

/** The audit handlers; a tenant reads only its own records, the admin every record. */
export function auditHandlers(audit: AuditService): Handlers {
  return {
    getAuditCheckpoint: async (_req: FastifyRequest, reply: FastifyReply) => {
      const checkpoint = await audit.checkpoint();
      // Signed: any cached copy is verifiable; short so a new one reaches clients soon.
      reply.header('cache-control', 'public, max-age=5');
      return checkpoint;
    },
    createAuditCheckpoint: async (req: FastifyRequest, reply: FastifyReply) => {
      if (req.principal.kind !== 'admin') throw new AppError('forbidden', 'only the admin signs checkpoints on demand');
      return reply.code(201).send(await audit.signCheckpoint());
    },
    getAuditRecords: async (req: FastifyRequest) => {
      const { from, limit: asked } = req.query as { from: number; limit?: number };
      const limit = asked ?? Math.min(100, audit.maxRange);
      const p = req.principal;
      if (p.kind === 'admin') return audit.records(from, limit);
      if (p.kind === 'tenant') return audit.records(from, limit, `tenant:${p.tenantId}`);
      throw new AppError('forbidden', 'audit records are for the admin and tenants');
    },
    getAuditInclusionProof: async (req: FastifyRequest) => {
      const { seq, treeSize } = req.query as { seq: number; treeSize: number };
      return audit.inclusionProof(seq, treeSize);
    },
    getAuditConsistencyProof: async (req: FastifyRequest) => {
      const { from, to } = req.query as { from: number; to: number };
      return audit.consistencyProof(from, to);
    },
  } as unknown as Handlers;
}
