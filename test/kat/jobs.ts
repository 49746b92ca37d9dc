/** Every known-answer job, in report order. */
import { acvpJobs } from './acvp.ts';
import { communityJobs } from './community.ts';
import { compositeJobs } from './composite.ts';
import { hpkeJobs } from './hpke.ts';
import type { Job } from './lib.ts';
import { poseidonJobs } from './poseidon.ts';
import { rfcJobs } from './rfc.ts';
import { wycheproofJobs } from './wycheproof.ts';

export const allJobs = (): Job[] => [...acvpJobs(), ...wycheproofJobs(), ...communityJobs(), ...poseidonJobs(), ...rfcJobs(), ...hpkeJobs(), ...compositeJobs()];

/** Suites (the `suite` column) a complete run must report passes for. */
export const SUITES = ['acvp', 'wycheproof', 'cctv', 'xwing', 'poseidon', 'rfc', 'hpke-pq', 'composite'] as const;
