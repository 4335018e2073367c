/**
 * A service that does not stop on SIGTERM — as the ingestor whose graceful stop waits on a
 * Kinesis flush that cannot finish. It writes nothing after "ready": a write to the pipe of a
 * dead launcher could fail and end it, which is not what is being tested.
 */
process.on('SIGTERM', () => undefined);
console.log('ready');
setInterval(() => undefined, 60_000);
