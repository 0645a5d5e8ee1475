/**
 * The gateway's logger: pino, JSON lines on stderr (fd 2), so stdout stays free for command output
 * and `--json`. One logger per gateway; `QUEUE_ENABLE_DEBUG_LOG=true` (seed 000 配置说明) sets the
 * level to `debug`, which turns on one line per enqueue, drain and fallback of the ordered queue.
 * Callers on per-message paths test `logger.isLevelEnabled('debug')` once (cached as a boolean) so a
 * disabled debug log costs nothing.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Creates a logger writing to stderr asynchronously (sonic-boom buffers; pino flushes on exit).
 * @param debug true for level `debug`, otherwise `quietLevel`
 * @param name logger name in every line (e.g. `gateway`)
 * @param quietLevel level when `debug` is false: `info` for `serve`, `warn` for the in-process target
 *   (whose stderr is the load command's progress line)
 */
export function createLogger(debug: boolean, name = 'gatectl', quietLevel: 'info' | 'warn' = 'info'): Logger {
  return pino({ name, level: debug ? 'debug' : quietLevel, base: { name } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that writes nothing (tests, and components created without one). */
export const silentLogger: Logger = pino({ level: 'silent' });
