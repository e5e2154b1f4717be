/** The daemon side of the outbound-message queue (issue 6). */
import type { DaemonExtensionFactory } from '../daemon/extension.js';

export const messagesExtension: DaemonExtensionFactory = () => ({ name: 'messages' });
