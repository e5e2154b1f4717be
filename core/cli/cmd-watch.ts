/** `warden watch …` commands (not built yet). */
import type { Command, Option } from 'commander';

export function registerWatchCommands(program: Command, stateOption: () => Option): void {
  void program;
  void stateOption;
}
