// The page's run, kept in IndexedDB (through idb) so that a reload or a crash can continue it:
// the run's description and metrics, its latest checkpoint, and its final model once there is one.
// One run is kept at a time; starting a new one replaces it.
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { type Metrics, parseMetrics } from '../../../src/train/metrics.js';
import type { DataChoice, RunRequest } from './protocol.js';

export interface RunRecord {
  /** What was asked for: the settings, the data and the thread count (a resumed run keeps them). */
  request: RunRequest;
  data: DataChoice;
  /** config.json as `vit train` writes it (the model config and the "training" block). */
  configJson: string;
  metrics: Metrics;
  epochsDone: number;
  /** Null under a time budget (request.timeBudget): the run trains as many epochs as fit. */
  epochs: number | null;
  finished: boolean;
  updatedAt: number;
}

interface RunDb extends DBSchema {
  run: { key: 'current'; value: RunRecord };
  checkpoint: { key: 'current'; value: Uint8Array };
  model: { key: 'current'; value: Uint8Array };
}

const KEY = 'current';
let opened: Promise<IDBPDatabase<RunDb>> | undefined;

function db(): Promise<IDBPDatabase<RunDb>> {
  opened ??= openDB<RunDb>('vit-ts', 1, {
    upgrade(database) {
      database.createObjectStore('run');
      database.createObjectStore('checkpoint');
      database.createObjectStore('model');
    },
  });
  return opened;
}

/** Forgets the previous run and records the start of a new one. */
export async function beginRun(record: RunRecord): Promise<void> {
  const tx = (await db()).transaction(['run', 'checkpoint', 'model'], 'readwrite');
  await Promise.all([
    tx.objectStore('checkpoint').delete(KEY),
    tx.objectStore('model').delete(KEY),
    tx.objectStore('run').put(record, KEY),
    tx.done,
  ]);
}

export async function saveConfigJson(configJson: string): Promise<void> {
  const database = await db();
  const run = await database.get('run', KEY);
  if (run) await database.put('run', { ...run, configJson, updatedAt: Date.now() }, KEY);
}

/** Stores an epoch's checkpoint and metrics in one transaction, so the two always agree. */
export async function saveEpoch(epochsDone: number, checkpoint: Uint8Array, metrics: Metrics): Promise<void> {
  const tx = (await db()).transaction(['run', 'checkpoint'], 'readwrite');
  const run = await tx.objectStore('run').get(KEY);
  if (!run) throw new Error('no run is being recorded');
  await Promise.all([
    tx.objectStore('checkpoint').put(checkpoint, KEY),
    tx.objectStore('run').put({ ...run, metrics, epochsDone, updatedAt: Date.now() }, KEY),
    tx.done,
  ]);
}

/** The metrics alone (a continued run that had no epoch left). */
export async function saveMetrics(metrics: Metrics): Promise<void> {
  const database = await db();
  const run = await database.get('run', KEY);
  if (run) await database.put('run', { ...run, metrics, updatedAt: Date.now() }, KEY);
}

export async function saveFinalModel(bytes: Uint8Array): Promise<void> {
  const tx = (await db()).transaction(['run', 'model'], 'readwrite');
  const run = await tx.objectStore('run').get(KEY);
  if (!run) throw new Error('no run is being recorded');
  await Promise.all([
    tx.objectStore('model').put(bytes, KEY),
    tx.objectStore('run').put({ ...run, finished: true, updatedAt: Date.now() }, KEY),
    tx.done,
  ]);
}

/** The saved run, its metrics checked (a run saved by an older page gets elapsed_seconds derived). */
export async function loadRun(): Promise<RunRecord | undefined> {
  const run = await (await db()).get('run', KEY);
  return run && { ...run, metrics: parseMetrics(run.metrics, 'the saved run') };
}

export async function loadCheckpoint(): Promise<Uint8Array | undefined> {
  return (await db()).get('checkpoint', KEY);
}

export async function loadFinalModel(): Promise<Uint8Array | undefined> {
  return (await db()).get('model', KEY);
}
