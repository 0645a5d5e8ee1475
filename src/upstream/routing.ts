/** Upstream service routing (seed 004 §3.1 and §2.1 `determineUpstreamService`). */

/**
 * The upstream service a request goes to (seed 004 §2.2 `AsyncTask.ServiceType`): `hello` (login;
 * handled synchronously by the gateway, seed 004 §3.1), `business` and `zone` (both asynchronous).
 */
export type ServiceType = 'hello' | 'business' | 'zone';

/** Every ServiceType, in a fixed order. */
export const SERVICE_TYPES: readonly ServiceType[] = Object.freeze(['hello', 'business', 'zone'] as const);

/**
 * seed 004 `determineUpstreamService` (§2.1 step 2, §3.1): `hello` and `login` go to the hello
 * (login) service, any action starting with `zone` (`zone`, `zone.move`, …) to the zone service,
 * everything else (including the empty action) to the business service. Case-sensitive, pure, no
 * allocation. Never throws.
 */
export function determineUpstreamService(action: string): ServiceType {
  if (action === 'hello' || action === 'login') return 'hello';
  if (action.startsWith('zone')) return 'zone';
  return 'business';
}
