// Preloaded into a server process the benchmarks measure (node --expose-gc --import THIS main.js):
// on SIGUSR2, two full garbage collections, then one stdout line with the heap in use, so the heap a
// server holds is read without the garbage of the requests before it.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  process.stdout.write(`${JSON.stringify({ heapUsedBytes: process.memoryUsage().heapUsed })}\n`);
});
