// Whether the process that left a file behind (a lock, a temporary) still runs: its pid is in the name or the file.

/** Whether process `pid` runs (this one included), whoever it belongs to. */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
