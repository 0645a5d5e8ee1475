/**
 * Client cohorts (issue 14 §6), the convention load clients and the gateway share: a load client
 * declares the cohort its measurements belong to by ending Hello's `client_version` with
 * ` cohort=NAME` (e.g. `gatectl/0.1 cohort=slow`); the gateway keeps the send-queue stages of each
 * cohort's sessions apart (gateway/cohorts.ts). It labels measurements only: no session is served
 * differently for it.
 */

/** The `client_version` gatectl's load clients send in Hello. */
export const GATECTL_CLIENT_VERSION = 'gatectl/0.1';

/** Cohorts a gateway keeps apart; any other declared name is ignored (bounded memory). */
export const COHORTS = ['healthy', 'slow'] as const;

/** One cohort name. */
export type Cohort = (typeof COHORTS)[number];

const COHORT_SUFFIX = /\scohort=([a-z]+)$/;

/**
 * The cohort a Hello `client_version` declares (` cohort=NAME` at its end), or null for none or a
 * name outside COHORTS.
 */
export function cohortOf(clientVersion: string | undefined): Cohort | null {
  const m = clientVersion === undefined ? null : COHORT_SUFFIX.exec(clientVersion);
  if (m === null) return null;
  return (COHORTS as readonly string[]).includes(m[1]!) ? (m[1] as Cohort) : null;
}

/** The `client_version` a load client in cohort `cohort` sends in Hello (`base` plus the suffix). */
export function clientVersionFor(base: string, cohort: Cohort | null): string {
  return cohort === null ? base : `${base} cohort=${cohort}`;
}
