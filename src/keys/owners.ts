/**
 * Owners of managed keys are strings: `admin`, `tenant:<id>`, and `system` (the service's own keys,
 * see system.ts, never reachable through the API). Every lookup is scoped by owner, so another
 * owner's key is a 404.
 */

/** The service's own keys (identity, token signing). */
export const SYSTEM_OWNER = 'system';
/** Keys the administrator creates without naming an owner. */
export const ADMIN_OWNER = 'admin';
/** The owner string of a tenant. */
export const tenantOwner = (tenantId: string): string => `tenant:${tenantId}`;
