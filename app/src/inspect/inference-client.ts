// The page's side of the inference worker: one worker for the inspect views, started on first
// use with the context's thread count; each request is a promise of its result.
import type { CurrentModel } from '../context.js';
import type { RequestKind, RequestMessage, Requests, ResponseMessage } from './protocol.js';

type Pending = { resolve: (result: never) => void; reject: (error: Error) => void };

export class InferenceClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** The worker's engine starting; every request waits for it, and fails as it failed. */
  private readonly started: Promise<unknown>;
  /** The model the worker holds now, and the test images it was last given. */
  private loadedModel: Promise<Requests['load']['result']> | undefined;
  private loadedFor: CurrentModel | undefined;
  private testImagesFor: object | undefined;

  constructor(threads: number) {
    this.worker = new Worker(new URL('./inference-worker.ts', import.meta.url), { type: 'module', name: 'inference' });
    this.worker.onmessage = (event: MessageEvent<ResponseMessage>) => {
      const { id } = event.data;
      const waiting = this.pending.get(id);
      if (!waiting) return;
      this.pending.delete(id);
      if (event.data.ok) waiting.resolve(event.data.result as never);
      else waiting.reject(new Error(event.data.message));
    };
    this.worker.onerror = (event) => {
      const error = new Error(`the inference worker failed: ${event.message}`);
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    this.started = this.send('start', { threads });
    this.started.catch(() => {}); // reported by the requests that wait for it
  }

  async request<K extends RequestKind>(
    kind: K,
    body: Requests[K]['request'],
    transfer: Transferable[] = [],
  ): Promise<Requests[K]['result']> {
    await this.started;
    return this.send(kind, body, transfer);
  }

  private send<K extends RequestKind>(
    kind: K,
    body: Requests[K]['request'],
    transfer: Transferable[] = [],
  ): Promise<Requests[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject });
      this.worker.postMessage({ id, kind, ...body } as RequestMessage, transfer);
    });
  }

  /** Sends `model` to the worker unless it holds it already. */
  useModel(model: CurrentModel): Promise<Requests['load']['result']> {
    if (this.loadedFor !== model || !this.loadedModel) {
      this.loadedFor = model;
      const params = [...model.params].map(([name, values]): [string, Float32Array] => [name, values.slice()]);
      this.loadedModel = this.request(
        'load',
        {
          model: { config: model.config, params, normalization: model.normalization },
        },
        params.map(([, values]) => values.buffer),
      );
      // A model the worker refused is not held: the next use tries again (and reports again).
      this.loadedModel.catch(() => {
        if (this.loadedFor === model) this.loadedModel = undefined;
      });
    }
    return this.loadedModel;
  }

  /** Sends the test images to the worker unless it has them already. */
  async useTestImages(set: { images: Uint8Array; labels: Uint8Array; count: number }): Promise<void> {
    if (this.testImagesFor === set) return;
    this.testImagesFor = set;
    await this.request('testImages', { set: { images: set.images, labels: set.labels, count: set.count } });
  }
}

let shared: InferenceClient | undefined;

/** The inspect views' one worker. */
export function inferenceClient(threads: number): InferenceClient {
  shared ??= new InferenceClient(threads);
  return shared;
}
