import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * How to run the project's ComfyUI emulator as a child process: `node dist/emulator/main.js` in a
 * build, `node --import tsx src/emulator/main.ts` from the sources. It takes ComfyUI's flags.
 *
 * @example
 * const { command, args, cwd } = emulatorCommand();
 * spawn(command, [...args, '--port', '8188', '--cpu'], { cwd });
 */
export function emulatorCommand(): { command: string; args: string[]; cwd: string } {
  // The package root: `--import tsx` is resolved from the working directory.
  const cwd = fileURLToPath(new URL('../../', import.meta.url));
  const js = fileURLToPath(new URL('../emulator/main.js', import.meta.url));
  if (existsSync(js)) return { command: process.execPath, args: [js], cwd };
  const ts = fileURLToPath(new URL('../emulator/main.ts', import.meta.url));
  return { command: process.execPath, args: ['--import', 'tsx', ts], cwd };
}
