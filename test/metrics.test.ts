import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../src/errors.js';
import {
  type EpochResult,
  emptyMetrics,
  formatEpochLine,
  lastEvaluation,
  metricsJson,
  parseMetrics,
  recordEpoch,
} from '../src/train/metrics.js';

const epoch = (n: number, evaluated: boolean, seconds: number, elapsedSeconds: number): EpochResult => ({
  epoch: n,
  epochs: 3,
  trainLoss: 2 - n / 10,
  testLoss: evaluated ? 1.9 - n / 10 : null,
  accuracy: evaluated ? 0.2 + n / 10 : null,
  seconds,
  elapsedSeconds,
  imagesPerSecond: 400,
  lr: 1e-3,
  evaluatedOn: 'test',
});

test('an epoch not evaluated is written as JSON null and read back as null', () => {
  const metrics = emptyMetrics('test');
  recordEpoch(metrics, epoch(1, false, 10, 12));
  recordEpoch(metrics, epoch(2, true, 11, 24.5));
  const text = metricsJson(metrics);
  const raw = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(raw['accuracies'], [null, 0.4]);
  assert.deepEqual(raw['test_losses'], [null, 1.9 - 0.2]);
  assert.deepEqual(raw['elapsed_seconds'], [12, 24.5]);
  assert.deepEqual(parseMetrics(raw, 'metrics.json'), metrics);
});

test('a metrics.json from before elapsed_seconds gets it as the running sum of epoch_seconds', () => {
  const old = {
    train_losses: [2, 1.8, 1.7],
    test_losses: [1.9, 1.7, 1.6],
    accuracies: [0.3, 0.4, 0.45],
    epoch_seconds: [10.5, 9.25, 11],
    evaluated_on: 'test',
  };
  assert.deepEqual(parseMetrics(old, 'old.json').elapsed_seconds, [10.5, 10.5 + 9.25, 10.5 + 9.25 + 11]);
  assert.deepEqual(
    parseMetrics({ ...old, train_losses: [], test_losses: [], accuracies: [], epoch_seconds: [] }, 'empty').elapsed_seconds,
    [],
  );
  // A file that has it keeps its own (the wall time between epochs counts there too).
  assert.deepEqual(parseMetrics({ ...old, elapsed_seconds: [12, 25, 40] }, 'new.json').elapsed_seconds, [12, 25, 40]);
});

test('parseMetrics refuses nulls where there is always a value, wrong types and lengths, naming the key', () => {
  const good = {
    train_losses: [2, 1.8],
    test_losses: [null, 1.6],
    accuracies: [null, 0.45],
    epoch_seconds: [10, 9],
    elapsed_seconds: [10, 19],
  };
  assert.equal(parseMetrics(good, 'ok').accuracies[0], null);
  const cases: [Record<string, unknown>, string][] = [
    [{ ...good, train_losses: [2, null] }, 'train_losses'],
    [{ ...good, epoch_seconds: [null, 9] }, 'epoch_seconds'],
    [{ ...good, elapsed_seconds: [10, null] }, 'elapsed_seconds'],
    [{ ...good, elapsed_seconds: [10] }, 'elapsed_seconds'],
    [{ ...good, accuracies: ['0.4', 0.45] }, 'accuracies'],
    [{ ...good, test_losses: [1.6] }, 'test_losses'],
  ];
  for (const [bad, key] of cases) {
    assert.throws(
      () => parseMetrics(bad, 'runs/x/metrics.json'),
      (e: unknown) => e instanceof UserError && e.message.startsWith('runs/x/metrics.json') && e.message.includes(`"${key}"`),
      key,
    );
  }
});

test('the epoch line says "not evaluated" instead of printing a test loss and accuracy', () => {
  assert.equal(formatEpochLine(epoch(1, false, 10, 10)), 'Epoch: 1, Train loss: 1.9000 (not evaluated; 10.0 s, 400 img/s)');
  assert.equal(
    formatEpochLine(epoch(2, true, 10, 20)),
    'Epoch: 2, Train loss: 1.8000, Test loss: 1.7000, Accuracy: 0.4000 (10.0 s, 400 img/s)',
  );
});

test('lastEvaluation skips epochs not evaluated', () => {
  const metrics = emptyMetrics('test');
  assert.equal(lastEvaluation(metrics), null);
  recordEpoch(metrics, epoch(1, false, 10, 10));
  assert.equal(lastEvaluation(metrics), null);
  recordEpoch(metrics, epoch(2, true, 10, 20));
  recordEpoch(metrics, epoch(3, false, 10, 30));
  assert.deepEqual(lastEvaluation(metrics), { epoch: 2, accuracy: 0.4 });
});
