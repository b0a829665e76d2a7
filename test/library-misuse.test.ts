// Misusing the library (issue #12, item 7): every public function checks what it is given and
// throws a UserError that names the argument, instead of an internal TypeError or a wrong answer.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { classify, classifyAll, classLabels, loadModel, modelLabels } from '../src/api.js';
import { UserError } from '../src/errors.js';
import { parseSafetensors } from '../src/io/safetensors-format.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { ViTForClassification } from '../src/model/vit.js';
import { getEngine } from '../src/runtime/engine.js';
import { fixturesDir } from './helpers.js';

const SEED_MODEL = join(fixturesDir, 'seed');
/** A flat grey 32×32 RGB picture. */
const GREY = { data: new Uint8Array(32 * 32 * 3).fill(128), width: 32, height: 32 };

before(async () => {
  await getEngine({ threads: 1 });
});

/** `promise` rejects with a UserError whose message matches `pattern`. */
async function rejectsNaming(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('a released model is refused by classify and by its own methods, naming the call', async () => {
  const model = await loadModel(SEED_MODEL);
  assert.equal((await classify(model, GREY)).length, 5);
  model.release();
  assert.equal(model.released, true);
  // Before the check, classify answered from freed memory ("cat 1.0").
  await rejectsNaming(classify(model, GREY), /^classify: the model was released/);
  await rejectsNaming(classifyAll(model, [GREY]), /^classifyAll: the model was released/);
  await rejectsNaming(modelLabels(model), /^modelLabels: the model was released/);
  assert.throws(() => model.infer(1), /UserError: infer: the model was released/);
  assert.throws(() => model.stateDict(), /UserError: stateDict: the model was released/);
  model.release(); // a second release does nothing (it used to fail inside the allocator)
});

test('raw pixel data that is not bytes is refused, naming the argument', async () => {
  const model = await loadModel(SEED_MODEL);
  const asString = { data: 'x'.repeat(32 * 32 * 3), width: 32, height: 32 } as unknown as typeof GREY;
  await rejectsNaming(classify(model, asString), /^classify: "image": raw pixels' "data" must be a Uint8Array.*got a string/);
  const asArray = { data: Array.from(GREY.data), width: 32, height: 32 } as unknown as typeof GREY;
  await rejectsNaming(classifyAll(model, [GREY, asArray]), /^classifyAll: "images"\[1\]: .*got an Array/);
  model.release();
});

test('null and wrong-typed arguments are UserErrors naming the argument, not TypeErrors', async () => {
  const model = await loadModel(SEED_MODEL);
  const anyArg = (v: unknown): never => v as never;
  await rejectsNaming(classify(anyArg(null), GREY), /^classify: "model" must be a ViTForClassification.*got null/);
  await rejectsNaming(classify(model, anyArg(null)), /^classify: "image": .*got null/);
  await rejectsNaming(classify(model, anyArg(42)), /^classify: "image": .*got a number/);
  await rejectsNaming(classify(model, GREY, anyArg(null)), /"options" must be an object \(got null\)/);
  await rejectsNaming(classifyAll(model, anyArg(null)), /^classifyAll: "images" must be an Array.*got null/);
  await rejectsNaming(classifyAll(model, anyArg('cat.png')), /^classifyAll: "images" must be an Array.*got a string/);
  await rejectsNaming(classLabels(anyArg(undefined)), /^classLabels: "config"/);
  await rejectsNaming(loadModel(anyArg(null)), /^loadModel: "source" must be a path.*got null/);
  await rejectsNaming(loadModel(''), /^loadModel: "source" is an empty path/);
  await rejectsNaming(loadModel({ config: {}, params: new Map([['x', anyArg([1, 2])]]) }), /"source.params" "x" must be a Float32Array/);
  await rejectsNaming(loadModel({ config: anyArg('seed'), params: new Map() }), /"source.config" must be an object/);
  assert.throws(
    () => model.setImages(anyArg('pixels'), 1),
    (e: unknown) => e instanceof UserError && /^setImages: images must be a Float32Array/.test(e.message),
  );
  assert.throws(
    () => model.infer(anyArg('2')),
    (e: unknown) => e instanceof UserError && /^infer: the batch must be a positive whole number/.test(e.message),
  );
  assert.throws(
    () => model.setLabels(anyArg(null), 1),
    (e: unknown) => e instanceof UserError && /^setLabels: labels must be/.test(e.message),
  );
  assert.throws(
    () => model.loadStateDict(anyArg({})),
    (e: unknown) => e instanceof UserError && /^loadStateDict: tensors must be a Map/.test(e.message),
  );
  await assert.rejects(
    ViTForClassification.create(anyArg(null)),
    (e: unknown) => e instanceof UserError && /config.*got null/.test(e.message),
  );
  assert.throws(
    () => parseSafetensors(anyArg('model.safetensors'), 'model'),
    (e: unknown) => e instanceof UserError && /bytes must be a Uint8Array/.test(e.message),
  );
  assert.throws(
    () => readSafetensors(anyArg(null)),
    (e: unknown) => e instanceof UserError && /path must be a string/.test(e.message),
  );
  model.release();
});

test('the browser entry checks its arguments too: toCanonical, fromCanonical, createEngine', async () => {
  const browser = await import('../src/browser.js');
  const anyArg = (v: unknown): never => v as never;
  const named =
    (pattern: RegExp) =>
    (e: unknown): boolean =>
      e instanceof UserError && pattern.test(e.message);
  assert.throws(
    () => browser.toCanonical(anyArg(null), browser.SEED_CONFIG, 'm'),
    named(/^toCanonical: "tensors" must be a Map.*got null/),
  );
  assert.throws(
    () => browser.toCanonical(new Map(), anyArg(undefined), 'm'),
    named(/^toCanonical: "config" must be an object \(got undefined\)/),
  );
  assert.throws(
    () => browser.fromCanonical(anyArg({}), browser.SEED_CONFIG, 'seed'),
    named(/^fromCanonical: "params" must be a Map.*got an object/),
  );
  await assert.rejects(browser.createEngine(anyArg(4)), named(/^createEngine: "options" must be an object \(got a number\)/));
  await assert.rejects(
    browser.createEngine({ backend: anyArg('cuda') }),
    named(/^backend must be one of wasm, webgpu, auto \(got "cuda"\)/),
  );
});
