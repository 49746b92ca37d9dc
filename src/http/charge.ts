/**
 * Charging anonymous requests to their address prefix's CPU budget (src/http/budget.ts) before any
 * work: what the thin handlers of verifyWithPublicKey, openSession, createChallenge, login and
 * pirQuery call. Tenants and the admin pass (the fair scheduler shares CPU between them).
 */
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import type { BudgetedOperation } from '../workers/cost.ts';
import { addressPrefix, principalKey } from '../workers/principal.ts';

/** Charges `op` to the budget of the request's principal; throws 429 `rate_limited` with Retry-After when spent. */
export type Charge = (req: FastifyRequest, op: BudgetedOperation) => void;

/** The charge function of an app (a no-op when ANON_CPU_MS_PER_MINUTE=0). */
export function chargerOf(ctx: Pick<AppContext, 'budget' | 'costs'>): Charge {
  return (req, op) => ctx.budget?.chargeIfBudgeted(budgetKey(req, op), ctx.costs.request(op));
}

/**
 * Refused envelopes have a bucket of their own per prefix: a neighbour looping on garbage envelopes
 * gets 429s, but cannot spend the budget that the same prefix's handshakes and logins draw on.
 */
const budgetKey = (req: FastifyRequest, op: BudgetedOperation): string =>
  op.op === 'envelopeRefused' ? `anon:envelopes:${addressPrefix(req.ip)}` : principalKey(req.principal, req.ip);
