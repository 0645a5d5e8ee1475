/**
 * oclif `command_not_found` hook: a misspelt command gets one line naming the closest command
 * ("did you mean"; edit distance by fastest-levenshtein) and exits 2, like any usage error
 * (./exit-codes.ts). Unlike @oclif/plugin-not-found it says the suggestion without a terminal too
 * (scripts and CI, where a load tool mostly runs), and never runs a command the user did not type.
 */
import type { Hook } from '@oclif/core';
import { closest, distance } from 'fastest-levenshtein';
import { EXIT } from './exit-codes.js';

const hook: Hook.CommandNotFound = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '));
  const typed = opts.id.replaceAll(':', ' ');
  const best = ids.length > 0 ? closest(typed, ids) : undefined;
  const near = best !== undefined && distance(typed, best) <= Math.max(2, Math.floor(best.length / 2));
  process.stderr.write(`Error: '${typed}' is not a ${opts.config.bin} command.${near ? ` Did you mean '${best}'?` : ''}\n` +
    `See '${opts.config.bin} --help' for the commands.\n`);
  this.exit(EXIT.usage);
};

export default hook;
