// The page in WebKitGTK, Safari's engine (WebKitWebDriver and its MiniBrowser on an Xvfb display):
// the engine tour of test/engine-tour.ts. WebKit has no SharedArrayBuffer, so this is the page's
// one-thread path on a plain memory, without relaxed SIMD.
import { engineTour } from './engine-tour.js';

engineTour('WebKitGTK');
