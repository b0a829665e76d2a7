// A PyTorch training log: one JSON line per epoch, {epoch, train_loss, test_loss, test_acc, elapsed_s},
// as tools/pytorch/peer.py train and train_ddp.py print them (the seed recipe's log in ../shared/peer).
import { UserError } from '../errors.js';

export interface PytorchLogEpoch {
  epoch: number;
  /** Test accuracy, a fraction in [0, 1]. */
  accuracy: number;
  /** Wall seconds since training started at the end of the epoch, its evaluation included. */
  elapsedSeconds: number;
}

/** The log's epochs in file order; `source` (the file) and the line number name a bad line. */
export function parsePytorchLog(text: string, source: string): PytorchLogEpoch[] {
  const epochs: PytorchLogEpoch[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    epochs.push(parseLine(line, `${source}: line ${index + 1}`));
  });
  if (epochs.length === 0)
    throw new UserError(`${source}: no epochs; expected JSON lines of {epoch, train_loss, test_loss, test_acc, elapsed_s}`);
  return epochs;
}

function parseLine(line: string, where: string): PytorchLogEpoch {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new UserError(`${where}: not a JSON line`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`${where}: expected a JSON object`);
  const record = value as Record<string, unknown>;
  const number = (key: string, ok: (x: number) => boolean, what: string): number => {
    const x = record[key];
    if (typeof x !== 'number' || !ok(x)) throw new UserError(`${where}: "${key}" is ${JSON.stringify(x) ?? 'missing'}; expected ${what}`);
    return x;
  };
  return {
    epoch: number('epoch', (x) => Number.isInteger(x) && x >= 1, 'an epoch number from 1'),
    accuracy: number('test_acc', (x) => x >= 0 && x <= 1, 'a fraction in [0, 1]'),
    elapsedSeconds: number('elapsed_s', (x) => x >= 0, 'seconds, 0 or more'),
  };
}
