/** `warden messages …` commands (not built yet). */
import type { Command, Option } from 'commander';

export function registerMessagesCommands(program: Command, stateOption: () => Option): void {
  void program;
  void stateOption;
}
