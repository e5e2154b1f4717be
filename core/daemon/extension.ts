/**
 * How an area of the daemon beyond the core (egress proxy, outbound-message queue, watch mode) plugs in:
 * it serves its own API methods (declared in `core/api/contract-*.ts`), adds to what a run is started with
 * (environment, PATH entries, loopback ports forwarded into the run's network namespace), reports status,
 * and closes with the daemon. Each area exports one `DaemonExtensionFactory`; `extensions.ts` lists them.
 */
import type { Service } from './service.js';

/** What the daemon knows about a run when it starts (all paths absolute and real). */
export interface RunContext {
  run: number;
  argv: string[];
  cwd: string;
  workspace: string;
  home: string;
  /** `isolated`: the run gets its own network namespace with only loopback; `host`: no isolation. */
  net: 'isolated' | 'host';
  /** Extra policy files the run was started with (`--policy`, absolute), after the shipped and user bands. */
  policies?: string[];
}

/** A TCP port on the run's loopback (inside its network namespace) forwarded to a unix socket outside. */
export interface Forward {
  port: number;
  socket: string;
}

/** What an extension adds to a run's start. Env values override the user's; PATH entries go first. */
export interface RunSetup {
  env?: Record<string, string>;
  pathPrepend?: string[];
  forwards?: Forward[];
}

export interface DaemonExtension {
  name: string;
  /** Handlers of this area's API methods; params arrive already parsed by the method's zod schema. */
  handlers?: Record<string, (params: never) => unknown>;
  runStart?(ctx: RunContext): RunSetup | Promise<RunSetup>;
  runEnd?(run: number): void | Promise<void>;
  /** True while the area has work that needs the daemon alive (the idle exit waits for it). */
  busy?(): boolean;
  /** Shown under `status.extensions[name]`. */
  status?(): Record<string, unknown>;
  close?(): void | Promise<void>;
}

export type DaemonExtensionFactory = (service: Service) => DaemonExtension | Promise<DaemonExtension>;
