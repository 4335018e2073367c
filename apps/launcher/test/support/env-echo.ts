/** Prints HOTPATH_TEST_START and whether the compile cache is on, then dies: the launcher restarts it. */
console.log(JSON.stringify({ msg: 'env', start: process.env['HOTPATH_TEST_START'] ?? null, compileCache: process.env['NODE_COMPILE_CACHE'] ?? null }));
process.exitCode = 1;
