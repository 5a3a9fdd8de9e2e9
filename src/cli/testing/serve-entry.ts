/**
 * Test-only entry: the `serve` and `keys` commands on a program configured like main.ts (usage
 * errors exit 2), until main.ts registers them.
 */
import { Command } from 'commander';
import { registerKeysCommand } from '../commands/keys.js';
import { registerServeCommand } from '../commands/serve.js';

const program = new Command()
  .name('comfy-cluster')
  .showHelpAfterError()
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
registerServeCommand(program);
registerKeysCommand(program);
await program.parseAsync(process.argv);
