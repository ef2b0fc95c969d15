#!/usr/bin/env node
/** The engram-sweep executable (package.json "bin"): runs main() on this process's command line. */
import { main, tolerateClosedReader } from './main.js';

tolerateClosedReader(process.stdout);
tolerateClosedReader(process.stderr);
process.exitCode = await main(process.argv);
