/** The daemon side of watch mode (issue 7). */
import type { DaemonExtensionFactory } from '../daemon/extension.js';

export const watchExtension: DaemonExtensionFactory = () => ({ name: 'watch' });
