// The dispatch protocol between the main thread and the workers: a small block of the shared
// memory holding a generation counter, the number of workers still busy, the kernel and its
// arguments. Atomics order the writes; the kernels' data never leaves the shared memory.

import { MAX_KERNEL_ARGS } from './kernels.js';

export const CONTROL_BYTES = 256;
/** Int32 slots. */
export const GENERATION = 0;
export const REMAINING = 1;
export const KERNEL = 2;
/** The worker thread (its tid) whose share of the last kernel threw; 0 = none. */
export const FAILED = 3;
/** The memory's size in 64 KiB pages, published by the caller each time it grows the memory. */
export const PAGES = 4;
/** Float64 slots hold the arguments from this byte offset within the block. */
export const ARGS_OFFSET = 64;
/** The failed worker's error message, UTF-8, from this byte offset to the end of the block. */
export const MESSAGE_OFFSET = ARGS_OFFSET + 8 * MAX_KERNEL_ARGS;
/** The kernel index that tells workers to stop. */
export const STOP = -1;
/** Polls of the control block before a thread sleeps in Atomics.wait: between the kernels of a
 *  step the next job comes within microseconds, and a wake-up from sleep costs far more. */
export const SPIN_POLLS = 20000;
