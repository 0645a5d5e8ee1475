/**
 * Base command: maps gatectl errors to exit codes (DESIGN §6: 0 ok, 2 bad usage or input, 99 a
 * threshold failed, 1 anything else) and prints one clear line on stderr.
 */
import { Command } from '@oclif/core';
import { GatectlError } from '../errors.js';

/** All gatectl commands extend this. */
export abstract class BaseCommand extends Command {
  /** With `--json`, the command's return value is printed as one JSON document on stdout. */
  static enableJsonFlag = true;

  protected async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    if (err instanceof GatectlError) {
      // straight to stderr: oclif's logToStderr is silent under --json, and the error must still be seen
      process.stderr.write(`Error: ${err.message}\n`);
      this.exit(err.exitCode);
    }
    return super.catch(err);
  }

  /** Writes a line to stderr (progress, notices); never to stdout. */
  protected note(line: string): void {
    process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
  }
}
