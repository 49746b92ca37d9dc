/** Handlers of the kex capability (thin: parse, call the service). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Handlers } from '../http/openapi.ts';
import type { Charge } from '../http/charge.ts';
import { AppError } from '../errors.ts';
import type { EnvelopeRequest, InnerRunner, KexService, OpenSessionRequest } from './service.ts';

/** `prefixOf(req)` is the client's address prefix (session caps); `runnerFor(req)` runs the inner requests of the envelope `req` carries. */
export function kexHandlers(kex: KexService, charge: Charge, prefixOf: (req: FastifyRequest) => string, runnerFor: (req: FastifyRequest) => InnerRunner): Handlers {
  return {
    getPrekey: async () => kex.getPrekey(),
    openSession: async (req: FastifyRequest) => {
      charge(req, { op: 'openSession' });
      return kex.openSession(req.body as OpenSessionRequest, prefixOf(req));
    },
    // Envelopes are not budgeted while they work (they carry tenants' traffic); a refused one is charged
    // to its prefix's refused-envelope bucket, so a client looping on refusals soon gets 429s (and the tarpit).
    sendEnvelope: async (req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      try {
        return await kex.sendEnvelope((req.params as { id: string }).id, req.body as EnvelopeRequest, runnerFor(req));
      } catch (err) {
        if (err instanceof AppError && err.status < 500) charge(req, { op: 'envelopeRefused' });
        throw err;
      }
    },
    closeSession: async (req: FastifyRequest) => {
      await kex.closeSession((req.params as { id: string }).id, req.body as { seq: number; sealed: string });
      return { closed: true };
    },
  };
}
