/**
 * AsyncRequestProcessor (seed 004 §1.2, §2.2, §3.2, §6): business and zone requests become an
 * AsyncTask (`task_id = sessionID-seqID`) submitted without blocking to a pool of `maxWorkers`
 * workers over a queue of `maxQueueSize`; a full queue makes SubmitTask return false (the caller
 * answers 503).
 */
import { BoundedWorkerPool } from '../queue/index.js';
import type { ClientMessage } from '../protocol/index.js';
import type { ProcessorConfig } from './config.js';
import type { Session } from './session.js';

/** One queued request (seed 004 AsyncTask). */
export interface AsyncTask {
  /** `sessionID-seqID` */
  taskId: string;
  session: Session;
  request: ClientMessage;
  /** performance.now() when the request was read, in ms */
  readAt: number;
}

/** seed 004 GetStats fields plus counters. */
export interface ProcessorStats {
  max_workers: number;
  max_queue_size: number;
  queue_length: number;
  started: boolean;
  submitted: number;
  rejected_503: number;
  skipped_invalid_session: number;
}

/** The worker pool that runs `process(task)` for each submitted task. */
export class AsyncRequestProcessor {
  private readonly pool: BoundedWorkerPool<AsyncTask>;
  submitted = 0;
  rejected = 0;
  skippedInvalidSession = 0;

  /** @param process handles one task (upstream call and ordered sends); must not reject */
  constructor(private readonly config: Readonly<ProcessorConfig>, process: (task: AsyncTask) => Promise<void>) {
    this.pool = new BoundedWorkerPool<AsyncTask>(config.maxWorkers, config.maxQueueSize, async (task) => {
      if (!task.session.valid) {
        this.skippedInvalidSession++;
        return;
      }
      await process(task);
    });
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.pool.pending;
  }

  /** seed 004 SubmitTask: false when the queue is full or the processor is stopped. */
  submitTask(task: AsyncTask): boolean {
    if (this.pool.submit(task)) {
      this.submitted++;
      return true;
    }
    this.rejected++;
    return false;
  }

  /** Stops taking tasks and waits up to `timeoutMs` (ms) for queued ones to finish. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.pool.stop();
    return this.pool.whenIdle(timeoutMs);
  }

  /** Waits up to `timeoutMs` (ms) for running tasks to finish; true when none is left. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    return this.pool.whenIdle(timeoutMs);
  }

  /** Removes the tasks no worker has started yet (shutdown: they are answered 503 instead). */
  takeQueued(): AsyncTask[] {
    return this.pool.takeQueued();
  }

  /** seed 004 GetStats. */
  stats(): ProcessorStats {
    return {
      max_workers: this.config.maxWorkers,
      max_queue_size: this.config.maxQueueSize,
      queue_length: this.pool.queueLength,
      started: this.pool.started,
      submitted: this.submitted,
      rejected_503: this.rejected,
      skipped_invalid_session: this.skippedInvalidSession,
    };
  }
}
