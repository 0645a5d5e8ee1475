/**
 * Entry of a `--workers N` generator process: runs one Slice. It is a child process (fork with
 * IPC), not a worker_thread: quiche's napi binding (@matrixai/quic-linux-x64) aborts the whole
 * process when three threads of one process use it (a V8 check fails in napi_reference_unref; seen
 * again with gatectl's own QUIC driver: 2 threads work, 3 abort), while separate processes are
 * isolated. Protocol with the parent (load/run.ts):
 * parent → child: `{type:'spec', spec}` (first), `{type:'run', startEpochMs}` (common steady start),
 * `{type:'interrupt'}` (SIGINT: end the steady phase now), `{type:'close'}`;
 * child → parent: `{type:'tick', tick}` each second, `{type:'connected', connected, summary}`,
 * `{type:'partial', partial}`, `{type:'closed'}`, `{type:'error', error: WireError}` (rebuilt as its class by the parent).
 */
import { errorToWire } from '../errors.js';
import { Slice, type SliceSpec } from './engine.js';

const send = (msg: unknown): void => {
  process.send?.(msg);
};
const fail = (err: unknown): void => send({ type: 'error', error: errorToWire(err) });
let slice: Slice | null = null;

process.on('message', (msg: { type: string; spec?: SliceSpec; startEpochMs?: number }) => {
  if (msg.type === 'spec') {
    slice = new Slice(msg.spec!, (tick) => send({ type: 'tick', tick }));
    slice.connect().then((connected) => send({ type: 'connected', connected, summary: slice!.connectSummary }), fail);
  } else if (msg.type === 'run') {
    slice!.run(msg.startEpochMs!).then((partial) => send({ type: 'partial', partial }), fail);
  } else if (msg.type === 'interrupt') {
    slice?.interrupt();
  } else if (msg.type === 'close') {
    void (slice?.close() ?? Promise.resolve()).finally(() => {
      send({ type: 'closed' });
      process.disconnect?.();
    });
  }
});
// Ctrl-C reaches the whole process group: the parent decides (it sends 'interrupt'), not the terminal
process.on('SIGINT', () => undefined);
// the parent went away: do not linger
process.on('disconnect', () => setTimeout(() => process.exit(0), 2000).unref());
