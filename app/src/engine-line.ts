// The line that says what the page runs on, and what it falls back from where the browser lacks
// something: relaxed SIMD (plain SIMD runs, a little slower), SharedArrayBuffer (one thread).
import type { EngineSupport } from '../../src/runtime/support.js';

export function describeEngine(support: EngineSupport, threads: number, crossOriginIsolated: boolean): string {
  const lacks: string[] = [];
  if (!support.relaxedSimd) lacks.push('relaxed SIMD');
  // Not isolated, no browser gives SharedArrayBuffer; the notice above says how to serve the page.
  if (!support.sharedMemory && crossOriginIsolated) lacks.push('SharedArrayBuffer');
  const why = [
    ...(lacks.length > 0 ? [`this browser has no ${lacks.join(' and no ')}`] : []),
    ...(!support.sharedMemory && !crossOriginIsolated ? ['the page is not cross-origin isolated'] : []),
  ];
  const engine = `WebAssembly SIMD${support.relaxedSimd ? ' with relaxed SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}`;
  return `Runs on ${engine}${why.length > 0 ? ` (${why.join('; ')})` : ''}.`;
}
