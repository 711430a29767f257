/** `npm run bench`: prints figures; asserts nothing about speed (targets are in the README). */
import { cpus } from 'node:os';
import { benchCodec } from './codec.bench.js';
import { benchProcessorKernel } from './processor.bench.js';

console.log(
  `daqops bench — node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`,
);
console.log('\n[codec] one core, 4 Mi words of 8 bytes');
benchCodec();

console.log('\n[processor kernel] one core, emulated muons in noise');
benchProcessorKernel();
