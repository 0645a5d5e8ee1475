/**
 * Worker-thread entry of the monitor's HTTP front (front.ts): `workerData` is the FrontOptions,
 * `parentPort` the channel to the gateway thread. Loads no gateway code.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startFront, type FrontOptions, type FrontPort } from './front.js';

startFront(workerData as FrontOptions, parentPort as unknown as FrontPort);
