// The inspect views: Look inside, Classify and Model. They share one inference worker
// (inference-client.ts), apart from training's.
import './inspect.css';

export { mountLookInside } from './look-inside.js';
export { mountClassify } from './classify.js';
export { mountModel } from './model-view.js';
