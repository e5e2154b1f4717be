/** The daemon side of the egress proxy (issue 6). */
import type { DaemonExtensionFactory } from '../daemon/extension.js';

export const netExtension: DaemonExtensionFactory = () => ({ name: 'net' });
