import type { Command } from 'commander';

/** `comfy-cluster emulate`: placeholder until the emulator lands. */
export function registerEmulateCommand(program: Command): void {
  program
    .command('emulate')
    .description('Start emulated ComfyUI instances')
    .action(() => {
      process.stderr.write('comfy-cluster emulate: not implemented yet\n');
      process.exitCode = 1;
    });
}
