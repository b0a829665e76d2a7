// What the test set says about a model: its predictions, the confusion matrix, and the images it
// gets most confidently wrong. Pure functions over the probabilities the worker computed.

/** Index of the largest of the `classes` values of row `row`; the first one on ties, as torch.argmax. */
export function predictedClass(probabilities: Float32Array, classes: number, row: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (probabilities[row * classes + c]! > probabilities[row * classes + best]!) best = c;
  return best;
}

/** counts[truth * classes + predicted]: how often each class was taken for each. */
export function confusionMatrix(truths: ArrayLike<number>, probabilities: Float32Array, classes: number): Uint32Array {
  const counts = new Uint32Array(classes * classes);
  for (let i = 0; i < truths.length; i++) counts[truths[i]! * classes + predictedClass(probabilities, classes, i)]!++;
  return counts;
}

export interface Mistake {
  index: number;
  predicted: number;
  /** The probability the model gave its (wrong) answer. */
  confidence: number;
}

/** The `count` wrong predictions with the highest probability, most confident first. */
export function mostConfidentlyWrong(truths: ArrayLike<number>, probabilities: Float32Array, classes: number, count: number): Mistake[] {
  const mistakes: Mistake[] = [];
  for (let i = 0; i < truths.length; i++) {
    const predicted = predictedClass(probabilities, classes, i);
    if (predicted !== truths[i]) mistakes.push({ index: i, predicted, confidence: probabilities[i * classes + predicted]! });
  }
  return mistakes.sort((a, b) => b.confidence - a.confidence || a.index - b.index).slice(0, count);
}
