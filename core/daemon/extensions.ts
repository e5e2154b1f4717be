/** The daemon's extension areas, attached in this order when the daemon starts (see extension.ts). */
import type { DaemonExtensionFactory } from './extension.js';
import { netExtension } from '../net/daemon.js';
import { messagesExtension } from '../messages/daemon.js';
import { watchExtension } from '../watch/daemon.js';

export const extensionFactories: DaemonExtensionFactory[] = [netExtension, messagesExtension, watchExtension];
