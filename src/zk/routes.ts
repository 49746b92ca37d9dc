/** Handlers of the zk capability (thin: parse, call the service). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Handlers } from '../http/openapi.ts';
import type { Charge } from '../http/charge.ts';
import { AppError } from '../errors.ts';
import type { Artifact, ArtifactName, CircuitInfo } from './artifacts.ts';
import type { ChallengeRequest, LoginRequest, ZkService } from './service.ts';

/** `charge` bills anonymous createChallenge / login / rotateCommitment to their address's CPU budget. */
export function zkHandlers(zk: ZkService, artifacts: Map<ArtifactName, Artifact>, info: CircuitInfo, charge: Charge): Handlers {
  return {
    getCircuit: async (_req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'public, max-age=300');
      return info;
    },
    getCircuitArtifact: async (req: FastifyRequest, reply: FastifyReply) => {
      const a = artifacts.get((req.params as { artifact: string }).artifact as ArtifactName);
      if (!a) throw new AppError('not_found', 'no such circuit artifact');
      const etag = `"${a.sha256}"`;
      reply.header('etag', etag).header('cache-control', 'public, max-age=300').header('x-content-sha256', a.sha256);
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type('application/octet-stream').send(Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength));
    },
    // Rate limited per client address by the contract's x-rate-limit (max: ZK_REGISTER_PER_MINUTE).
    registerUser: async (req: FastifyRequest, reply: FastifyReply) => {
      const b = req.body as { username: string; commitment: string };
      return reply.code(201).send(await zk.register(b.username, b.commitment));
    },
    createChallenge: async (req: FastifyRequest, reply: FastifyReply) => {
      charge(req, { op: 'createChallenge' });
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(await zk.createChallenge(req.body as ChallengeRequest));
    },
    login: async (req: FastifyRequest, reply: FastifyReply) => {
      charge(req, { op: 'login' });
      reply.header('cache-control', 'no-store');
      return zk.login(req.body as LoginRequest);
    },
    rotateCommitment: async (req: FastifyRequest) => {
      charge(req, { op: 'login' });
      return zk.rotate((req.params as { username: string }).username, req.body as LoginRequest);
    },
  };
}
