#!/usr/bin/env node
// gatectl entry point: hands argv to oclif, which loads commands from dist/src/commands.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
