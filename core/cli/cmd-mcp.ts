/** `warden mcp …` commands (not built yet). */
import type { Command, Option } from 'commander';

export function registerMcpCommands(program: Command, stateOption: () => Option): void {
  void program;
  void stateOption;
}
