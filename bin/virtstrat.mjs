#!/usr/bin/env node
// Entry point of the `virtstrat` command. The sources are TypeScript, run through tsx so that an edit to
// any file takes effect on the next run with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../bench/cli.ts');
process.exitCode = await main(process.argv.slice(2));
