#!/usr/bin/env node
// Thin launcher: all logic is in dist/main.js (built from src/main.ts).
import { main, processIo } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2), processIo());
