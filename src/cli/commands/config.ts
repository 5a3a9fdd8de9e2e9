import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { resolveConfigFile } from '../../fleet/index.js';
import { defaultDataDir } from '../../store/index.js';
import { CliError, ExitCode, fail } from '../cli-error.js';
import { printJson, printLine } from '../output.js';
import {
  example,
  exit,
  type RemoteOptions,
  runRemote,
  withRemoteOptions,
} from '../remote-options.js';

/**
 * `comfy-cluster config path|export|import`: where this machine's config file is, and the
 * gateway's instance list as a file (out and back in).
 *
 * @example
 * // comfy-cluster config export -o instances.json && comfy-cluster config import instances.json
 * registerConfigCommand(program);
 */
export function registerConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description("The config file's location, and exporting or importing the gateway's instances")
    .addHelpText('after', example('comfy-cluster config export -o instances.json'));

  config
    .command('path')
    .description('Print the config file (and data dir) a gateway started here would use')
    .option('--config <file>', 'as serve --config would take it (env COMFY_CLUSTER_CONFIG)')
    .option('--json', 'print JSON for scripts')
    .addHelpText('after', example('comfy-cluster config path', 'comfy-cluster config path --json'))
    .action(async (opts: { config?: string; json?: boolean }) => {
      try {
        const file = resolveConfigFile(opts.config === undefined ? {} : { flag: opts.config });
        const dataDir = defaultDataDir();
        if (opts.json) printJson({ config_file: file, data_dir: dataDir });
        else printLine(file);
      } catch (err) {
        fail('config path', err);
      }
      await exit(ExitCode.ok);
    });

  withRemoteOptions(
    config
      .command('export')
      .description("Write the gateway's instance list (comfyui_instances.json) to a file or stdout")
      .option('-o, --output <file>', 'write here instead of stdout')
      .option('--include-secrets', 'keep instance credentials (tokens, passwords) in the file'),
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster config export -o instances.json',
        'comfy-cluster config export --include-secrets > backup.json',
      ),
    )
    .action((opts: RemoteOptions & { output?: string; includeSecrets?: boolean }) =>
      runRemote('config export', opts, async ({ client }) => {
        const doc = await client.exportConfig(opts.includeSecrets ? { includeSecrets: true } : {});
        const text = `${JSON.stringify(doc, null, 2)}\n`;
        if (opts.output === undefined) {
          process.stdout.write(text);
          return undefined;
        }
        // Written beside the target and renamed, so a failed write never leaves half a file.
        const temp = `${opts.output}.${process.pid}.tmp`;
        try {
          await writeFile(temp, text, { mode: opts.includeSecrets ? 0o600 : 0o644 });
          await rename(temp, opts.output);
        } catch (err) {
          throw new CliError(
            `cannot write ${opts.output}: ${(err as Error).message}`,
            ExitCode.failed,
          );
        }
        process.stderr.write(
          `wrote ${opts.output}${opts.includeSecrets ? ' (with credentials: keep it private)' : ' (credentials redacted)'}\n`,
        );
        return undefined;
      }),
    );

  withRemoteOptions(
    config
      .command('import')
      .description('Load an instance list into the gateway: all of it or nothing')
      .argument('<file>', 'a comfyui_instances.json (any supported version)')
      .option('--merge', 'add and update only (default: replace, the fleet becomes the file)'),
  )
    .addHelpText(
      'after',
      example(
        'comfy-cluster config import instances.json',
        'comfy-cluster config import extra.json --merge',
      ),
    )
    .action((file: string, opts: RemoteOptions & { merge?: boolean }) =>
      runRemote('config import', opts, async ({ client, json }) => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          throw new CliError(`cannot read ${file}`, ExitCode.usage);
        }
        const summary = await client.importConfig(text, { mode: opts.merge ? 'merge' : 'replace' });
        if (json) {
          printJson(summary);
          return undefined;
        }
        const n = (list: string[]) =>
          `${list.length}${list.length > 0 ? ` (${list.join(', ')})` : ''}`;
        printLine(
          `Imported ${file}: added ${n(summary.added)}, updated ${n(summary.updated)}, removed ${n(summary.removed)}${summary.migrated_from ? ` — migrated from version ${summary.migrated_from}` : ''}`,
        );
        return undefined;
      }),
    );
}
