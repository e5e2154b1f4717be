/** Where the root helper listens unless `$WARDEN_WATCH_SOCKET` says otherwise (a leaf module: the CLI needs it). */
export const DEFAULT_WATCH_SOCKET = '/run/warden/watch.sock';
