// Starts a TypeScript module of bench/ in a fresh context through tsx, the way bin/virtstrat.mjs starts the
// command line: a worker thread (`workerData.entry`, used by `bench --jobs`) or a child process (the first
// argument, used by `perf`). Worker threads and child processes do not inherit the parent's tsx registration,
// and `--import tsx` would resolve tsx from the working directory rather than from virtstrat's own
// node_modules; registering here resolves it next to this file, wherever the command runs from.
import { isMainThread, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const entry = isMainThread ? process.argv[2] : workerData.entry;
await import(new URL(entry, import.meta.url).href);
