// A time budget on a busy machine (issue 17): with another thread spinning on one of the cores the
// whole time, `vit train --time-budget 60s` uses at least 85% of its budget and ends inside it, its
// final evaluation shown as it runs. Real time, on purpose: the reserve kept for the final
// evaluation is measured on the machine as it is; a minute of it is what the test costs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, spinningWorker } from './helpers.js';

const BUDGET = 60;

test(
  `vit train --time-budget ${BUDGET}s with a core kept busy uses ≥ 85% of the budget and ends inside it`,
  { timeout: 240_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'vit-budget-load-'));
    const spinner = spinningWorker();
    try {
      const child = spawn(
        process.execPath,
        [CLI, 'train', '--exp-name', 'busy', '--sample', '--recipe', 'fast', '--time-budget', `${BUDGET}s`, '--out', out],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const status = await new Promise<number | null>((done) => child.on('close', done));
      assert.equal(status, 0, stderr);
      const lines = stdout.trim().split('\n');
      const used = /^Used (\d+\.\d) s of the 1m00s time budget$/.exec(lines.at(-1) ?? '');
      assert.ok(used, `the last line says the time used: ${lines.at(-1)}`);
      const seconds = Number(used[1]);
      const metrics = JSON.parse(readFileSync(join(out, 'busy', 'metrics.json'), 'utf8')) as {
        elapsed_seconds: number[];
        accuracies: (number | null)[];
      };
      console.log(`used ${seconds} s of ${BUDGET} s in ${metrics.accuracies.length} epochs`);
      assert.ok(seconds <= BUDGET, `ends inside the budget (${seconds} s)`);
      assert.ok(seconds >= 0.85 * BUDGET, `uses at least 85% of it (${seconds} s)`);
      const epochs = metrics.accuracies.length;
      assert.equal(typeof metrics.accuracies.at(-1), 'number', 'a final evaluation');
      // The line prints tenths of a second (59.4 for 59.43): the clock at the last epoch is within that rounding of it.
      assert.ok(
        metrics.elapsed_seconds.at(-1)! <= seconds + 0.05,
        `the last epoch's clock ${metrics.elapsed_seconds.at(-1)} s is inside the ${seconds} s used`,
      );
      // The final evaluation is announced before its epoch's line.
      const announced = lines.indexOf(`Final evaluation of epoch ${epochs} on 500 test images`);
      assert.ok(announced >= 0 && lines[announced + 1]!.startsWith(`Epoch: ${epochs}, `), stdout);
    } finally {
      await spinner.terminate();
      rmSync(out, { recursive: true, force: true });
    }
  },
);
