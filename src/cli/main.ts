/**
 * The `comfy-cluster` command. Each subcommand lives in its own file under ./commands and is
 * registered here.
 */
import { Command } from 'commander';
import { registerConfigCommand } from './commands/config.js';
import { registerEmulateCommand } from './commands/emulate.js';
import { registerInstallCommand } from './commands/install.js';
import { registerInstancesCommand } from './commands/instances.js';
import { registerJobsCommand } from './commands/jobs.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerLaunchCommand } from './commands/launch.js';
import { registerPm2Command } from './commands/pm2.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStatusCommand } from './commands/status.js';
import { registerSubmitCommand } from './commands/submit.js';
import { registerTemplatesCommand } from './commands/templates.js';

const program = new Command()
  .name('comfy-cluster')
  .description('One address for many ComfyUI servers.')
  // Usage errors in one line that says where to look next (subcommands inherit this).
  .configureOutput({
    outputError: (message, write) => write(`comfy-cluster: ${message.trim()} (see --help)\n`),
  })
  .addHelpText(
    'after',
    '\nExamples:\n  comfy-cluster serve --emulate 3\n  comfy-cluster status --url http://127.0.0.1:8190\n  comfy-cluster submit workflow.json --out ./out\n',
  )
  .exitOverride((err) => {
    // Usage errors exit 2 (help and version exit 0), as documented in the README.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

registerServeCommand(program);
registerStatusCommand(program);
registerInstancesCommand(program);
registerSubmitCommand(program);
registerJobsCommand(program);
registerTemplatesCommand(program);
registerConfigCommand(program);
registerLaunchCommand(program);
registerEmulateCommand(program);
registerInstallCommand(program);
registerPm2Command(program);
registerKeysCommand(program);

await program.parseAsync(process.argv);
