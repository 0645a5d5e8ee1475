/**
 * worker_thread entry of a `--workers N` generator thread: runs one Slice. Protocol with the parent
 * (load/run.ts): workerData = SliceSpec;
 * worker → parent: `{type:'tick', tick}` each second, `{type:'connected', connected, summary}`,
 * `{type:'partial', partial}`, `{type:'error', message}`;
 * parent → worker: `{type:'run', startEpochMs}` (common steady start), `{type:'close'}`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Slice, type SliceSpec } from './engine.js';

const port = parentPort!;
const slice = new Slice(workerData as SliceSpec, (tick) => port.postMessage({ type: 'tick', tick }));

const fail = (err: unknown): void => port.postMessage({ type: 'error', message: (err as Error).message });

port.on('message', (msg: { type: string; startEpochMs?: number }) => {
  if (msg.type === 'run') {
    slice.run(msg.startEpochMs!).then((partial) => port.postMessage({ type: 'partial', partial }), fail);
  } else if (msg.type === 'close') {
    void slice.close().finally(() => {
      port.postMessage({ type: 'closed' });
      port.close();
    });
  }
});

slice.connect().then((connected) => port.postMessage({ type: 'connected', connected, summary: slice.connectSummary }), fail);
