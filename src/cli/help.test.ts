/** Every remote command's --help: an example, and the gateway options. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerConfigCommand } from './commands/config.js';
import { registerInstancesCommand } from './commands/instances.js';
import { registerJobsCommand } from './commands/jobs.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerStatusCommand } from './commands/status.js';
import { registerSubmitCommand } from './commands/submit.js';
import { registerTemplatesCommand } from './commands/templates.js';

function program(): Command {
  const p = new Command().name('comfy-cluster');
  for (const register of [
    registerStatusCommand,
    registerInstancesCommand,
    registerSubmitCommand,
    registerJobsCommand,
    registerTemplatesCommand,
    registerConfigCommand,
    registerKeysCommand,
  ]) {
    register(p);
  }
  return p;
}

/** The full --help text of a command (after-help text included). */
function help(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

function* all(command: Command, path: string[] = []): Generator<[string, Command]> {
  for (const sub of command.commands) {
    const name = [...path, sub.name()];
    yield [name.join(' '), sub];
    yield* all(sub, name);
  }
}

describe('--help', () => {
  const commands = [...all(program())];

  it('covers the commands of the issue', () => {
    expect(commands.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'status',
        'instances list',
        'instances add',
        'instances rm',
        'instances edit',
        'instances test',
        'instances start',
        'instances stop',
        'instances pause',
        'instances resume',
        'instances use',
        'instances logs',
        'submit',
        'jobs list',
        'jobs show',
        'jobs cancel',
        'jobs retry',
        'jobs watch',
        'templates list',
        'templates add',
        'templates rm',
        'templates run',
        'keys create',
        'keys list',
        'keys revoke',
        'config path',
        'config export',
        'config import',
      ]),
    );
  });

  it.each(commands)(
    '%s has an example, and talks to a gateway given by --url / --api-key',
    (name, command) => {
      const text = help(command);
      expect(text).toMatch(/\nExamples?:\n {2}comfy-cluster /);
      const leaf = command.commands.length === 0;
      if (leaf && name !== 'config path') {
        expect(text).toContain('--url <url>');
        expect(text).toContain('COMFY_CLUSTER_URL');
        expect(text).toContain('--api-key <key>');
        expect(text).toContain('--json');
      }
    },
  );
});
