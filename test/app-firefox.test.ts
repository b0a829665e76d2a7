// The page in Firefox (ESR, driven headless over WebDriver BiDi): the engine tour of test/engine-tour.ts.
import { engineTour } from './engine-tour.js';

engineTour('Firefox');
