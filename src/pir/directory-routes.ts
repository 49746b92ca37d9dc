/** Handlers of the key directory operations (thin: owner from the principal, then directory.ts). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Handlers } from '../http/openapi.ts';
import type { Principal } from '../http/auth.ts';
import { AppError } from '../errors.ts';
import { ADMIN_OWNER, tenantOwner } from '../keys/api.ts';
import type { DirectoryService } from './directory.ts';

/** The owner a directory operation acts for: a tenant itself, or the admin's own keys. */
function ownerOf(principal: Principal): string {
  if (principal.kind === 'tenant') return tenantOwner(principal.tenantId);
  if (principal.kind === 'admin') return ADMIN_OWNER;
  throw new AppError('unauthorized', 'this operation requires a bearer token');
}

/** publishDirectoryEntry, unpublishDirectoryEntry, listDirectoryEntries. */
export function directoryHandlers(directory: DirectoryService): Handlers {
  type EntryParams = { entryName: string };
  return {
    publishDirectoryEntry: async (req: FastifyRequest, reply: FastifyReply) => {
      const { keyName } = req.body as { keyName: string };
      const out = await directory.publish(ownerOf(req.principal), (req.params as EntryParams).entryName, keyName);
      reply.header('cache-control', 'no-store');
      return out;
    },
    unpublishDirectoryEntry: async (req: FastifyRequest, reply: FastifyReply) => {
      await directory.unpublish(ownerOf(req.principal), (req.params as EntryParams).entryName);
      return reply.code(204).send();
    },
    listDirectoryEntries: async (req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      return { entries: await directory.list(ownerOf(req.principal)) };
    },
  } as unknown as Handlers;
}
