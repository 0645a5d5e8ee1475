/**
 * Base command: the edge where an error becomes an exit code and a message (oclif `src/command.ts`
 * `catch()`; the code → exit-code list is ./exit-codes.ts). Without `--json`, one clear line on
 * stderr (and, for a usage error, one line pointing to `--help`, not the whole usage). With
 * `--json`, stdout carries exactly one JSON document: the command's result, or
 * `{"error":{"code","message"}}` — and for a failed threshold, an interrupted run or an unreachable
 * target, the result that was written (its `thresholds` / `interrupted` / outages say why), then
 * exit 99 / 130 / 1.
 */
import { Command, Errors } from '@oclif/core';
import { errorToWire, type WireError } from '../errors.js';
import { EXIT, exitCodeOf } from './exit-codes.js';

/** All gatectl commands extend this. */
export abstract class BaseCommand extends Command {
  /** With `--json`, the command's return value is printed as one JSON document on stdout. */
  static enableJsonFlag = true;

  /**
   * The result already written when the command then fails on purpose (thresholds, SIGINT): under
   * `--json` it is printed instead of an error envelope. Set it before throwing.
   */
  protected resultForJson: unknown = undefined;

  protected async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const wire = wireOf(err);
    const exit = exitCodeOf(wire);
    const json = this.jsonFlagGiven();
    if (json) {
      const withResult = this.resultForJson !== undefined && (exit === EXIT.threshold || exit === EXIT.interrupted || wire.code === 'GATECTL_TARGET_UNREACHABLE');
      process.stdout.write(JSON.stringify(withResult ? this.resultForJson : { error: wire }, null, 2) + '\n');
    }
    if (wire.code === 'GATECTL_ERROR') {
      // not one of ours: a bug. Keep the stack for the report (stderr), then exit 1.
      process.stderr.write(`${err.stack ?? err.message}\n`);
    } else {
      // straight to stderr: oclif's logToStderr is silent under --json, and the error must still be seen
      process.stderr.write(`Error: ${wire.message}\n`);
      if (wire.code === 'GATECTL_USAGE') process.stderr.write(`See '${[this.config.bin, this.id].filter((x) => x !== undefined).join(' ')} --help' for the flags.\n`);
    }
    return this.exit(exit);
  }

  /** `--json` was on the command line (also when parsing failed before oclif could tell). */
  private jsonFlagGiven(): boolean {
    try {
      if (this.jsonEnabled()) return true;
    } catch {
      // jsonEnabled() reads parsed flags; on a parse error fall back to argv
    }
    return this.argv.includes('--json');
  }

  /** Writes a line to stderr (progress, notices); never to stdout. */
  protected note(line: string): void {
    process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
  }
}

/** An error as `{code, message}`; oclif's flag and argument errors (CLIError) become `GATECTL_USAGE`. */
function wireOf(err: Error & { oclif?: { exit?: number } }): WireError {
  if (err instanceof Errors.CLIError) {
    // oclif raises CLIError only for flags and arguments it could not parse
    const message = err.message.replace(/\nSee more help with --help$/, '').replace(/^Parsing (--[\w-]+) \n\t/, '$1: ');
    return { code: 'GATECTL_USAGE', message };
  }
  return errorToWire(err);
}
