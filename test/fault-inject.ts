/**
 * Fault injection for the crash-policy test (issue 16 §6), loaded into a `gatectl serve` child with
 * `node --import dist/test/fault-inject.js bin/run.js serve …`. With `GATECTL_TEST_FAULT=accept:N`
 * the gateway's connection handler throws on the N-th connection: the exception leaves the QUIC
 * listener's socket callback (a library event handler) uncaught, as the datagram crash of issue 13
 * did. `reject:N` makes it reject a promise nobody handles instead. Without the variable (as when
 * `node --test` runs this file) it does nothing.
 */
import { GatewayServer } from '../src/gateway/server.js';

const spec = process.env.GATECTL_TEST_FAULT;
if (spec !== undefined) {
  const [kind, nth] = spec.split(':');
  const at = Number(nth ?? 1);
  const proto = GatewayServer.prototype as unknown as { accept(conn: unknown): void };
  const accept = proto.accept;
  let n = 0;
  proto.accept = function (this: GatewayServer, conn: unknown): void {
    if (++n === at) {
      if (kind === 'reject') void Promise.reject(new Error(`injected fault: rejection on connection ${n}`));
      else throw new Error(`injected fault: exception on connection ${n}`);
    }
    accept.call(this, conn);
  };
}
