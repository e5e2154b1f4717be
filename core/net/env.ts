/**
 * What a run needs to know to use the egress proxy (its port and the environment variables that point there),
 * and the number ranges of the daemon's own connect holds and events (WIRE.md §4).
 */

/** The proxy's port on the run's loopback (its own network namespace, so one fixed port serves every run). */
export const PROXY_PORT = 3128;
/**
 * The environment a run gets so that its tools use the proxy. curl and wget read only the lower-case
 * `http_proxy` (upper-case HTTP_PROXY is ignored by curl for CGI safety); git uses libcurl and so honours
 * `http_proxy`/`https_proxy`/`all_proxy`; npm reads `npm_config_proxy`/`npm_config_https_proxy`; Python's
 * urllib and pip read both cases. Node's built-in `fetch` ignores all of these on Node 20 (`NODE_USE_ENV_PROXY`
 * makes Node ≥ 24.5 honour them), so fetch fails closed inside an isolated run: there is no route out.
 */
export function proxyEnv(port = PROXY_PORT): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    ALL_PROXY: url,
    NO_PROXY: noProxy,
    http_proxy: url,
    https_proxy: url,
    all_proxy: url,
    no_proxy: noProxy,
    npm_config_proxy: url,
    npm_config_https_proxy: url,
    NODE_USE_ENV_PROXY: '1',
  };
}

/**
 * `seq` of the connect events the daemon journals: the helper numbers its events 1, 2, … per run, so the
 * daemon's start here to never collide. They sort after the run's file events in `warden log`.
 */
export const NET_SEQ_BASE = 1_000_000_000;

/**
 * Hold numbers of the proxy's holds (`<run>-<n>`): the helper numbers its holds 1, 2, … per run, so these start
 * high enough never to meet them.
 */
export const NET_HOLD_BASE = 1_000_000;
