/**
 * Policy for MCP tool calls (the `mcp:` section of policy files) and the queue's release delay (the `messages:`
 * section), read from the same band files as the rest of the policy (shipped bands, then the user's).
 *
 * Decision order for one `tools/call`: the first `mcp.rules` entry that matches (bands in file order) decides;
 * with none, a tool whose name matches the send-tool globs (per server if configured) is queued, anything
 * else is allowed. Matching is deterministic: globs (picomatch) on server name, tool name and argument values.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import { mcpSectionSchema, messagesSectionSchema } from '../policy/schema.js';
import { errorMessage } from '../util/errors.js';

/**
 * Words that make a tool a send by default (issue 6). A tool name is split into words (`_`, `-`, `.`, spaces,
 * camelCase); it sends when a word is one of these or the name contains `create_issue` /
 * `create_pull_request`, unless it starts with a read verb (`get`, `list`, `read`, `search`…), so that
 * `send_email` and `add_comment` are queued but `list_messages` is not.
 */
export const DEFAULT_SEND_WORDS = ['send', 'post', 'publish', 'reply', 'comment', 'email', 'mail', 'message'];
const READ_VERBS = new Set([
  'get',
  'list',
  'read',
  'search',
  'fetch',
  'find',
  'query',
  'show',
  'count',
  'describe',
]);

/** True when `tool` sends by the default word list (see DEFAULT_SEND_WORDS). */
export function isDefaultSendTool(tool: string): boolean {
  const snake = tool.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  if (/create_(issue|pull_request)/.test(snake)) return true;
  const words = snake.split(/[^a-z0-9]+/).filter(Boolean);
  if (words.length === 0 || READ_VERBS.has(words[0] as string)) return false;
  return words.some((w) => DEFAULT_SEND_WORDS.includes(w));
}

/** Default time a queued message waits before release (ms): 5 minutes (issue 6). */
export const DEFAULT_RELEASE_AFTER_MS = 5 * 60_000;

export interface McpRule {
  id: string;
  why: string;
  band: string;
  server: string[];
  tool: string[];
  args: Record<string, string[]>;
  decision: 'allow' | 'deny' | 'queue';
}

export interface OutboundPolicy {
  rules: McpRule[];
  /** Send-tool globs set by a policy file; null = the default word list (isDefaultSendTool). */
  sendTools: string[] | null;
  servers: Record<string, string[]>;
  releaseAfterMs: number;
}

export interface McpDecision {
  decision: 'allow' | 'deny' | 'queue';
  rule: string;
  why: string;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : [v].flat());

/**
 * Reads the `mcp:` and `messages:` sections of `files` (in order). A file whose sections do not parse is
 * reported through `log` and skipped (`warden policy check` names the exact error).
 */
export function loadOutboundPolicy(files: string[], log: (line: string) => void = () => {}): OutboundPolicy {
  const out: OutboundPolicy = {
    rules: [],
    sendTools: null,
    servers: {},
    releaseAfterMs: DEFAULT_RELEASE_AFTER_MS,
  };
  for (const file of files) {
    try {
      const doc = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
      if (!doc || typeof doc !== 'object') continue;
      const band = typeof doc.band === 'string' ? doc.band : basename(file).replace(/\.ya?ml$/, '');
      if (doc.mcp !== undefined) {
        const m = mcpSectionSchema.parse(doc.mcp);
        if (m.send_tools) out.sendTools = m.send_tools;
        for (const [name, s] of Object.entries(m.servers ?? {})) out.servers[name] = s.send_tools;
        for (const r of m.rules)
          out.rules.push({
            id: r.id,
            why: r.why,
            band,
            server: list(r.server),
            tool: list(r.tool),
            args: Object.fromEntries(Object.entries(r.args ?? {}).map(([k, v]) => [k, list(v)])),
            decision: r.decision,
          });
      }
      if (doc.messages !== undefined) {
        const s = messagesSectionSchema.parse(doc.messages);
        if (s.release_after !== undefined) out.releaseAfterMs = s.release_after;
      }
    } catch (err) {
      log(`messages: the mcp/messages sections of ${file} were skipped: ${errorMessage(err)}`);
    }
  }
  return out;
}

const globMatch = (globs: string[], value: string) =>
  globs.length === 0 ||
  globs.some((g) => picomatch.isMatch(value, g, { nocase: true, dot: true, contains: false }));

/** The decision for calling `tool` with `args` on the gateway named `server` (see the module comment). */
export function decideMcpCall(
  p: OutboundPolicy,
  server: string,
  tool: string,
  args: Record<string, unknown>,
): McpDecision {
  for (const r of p.rules) {
    if (!globMatch(r.server, server) || !globMatch(r.tool, tool)) continue;
    const argsOk = Object.entries(r.args).every(([k, globs]) => {
      if (!(k in args)) return false;
      const v = args[k];
      return globMatch(globs, typeof v === 'string' ? v : JSON.stringify(v));
    });
    if (argsOk) return { decision: r.decision, rule: r.id, why: r.why };
  }
  const globs = p.servers[server] ?? p.sendTools;
  const sends = globs === null ? isDefaultSendTool(tool) : globs.length > 0 && globMatch(globs, tool);
  if (sends)
    return {
      decision: 'queue',
      rule: 'mcp-send-tool',
      why: `${tool} sends on your behalf, so the call is queued as an outbound message for review`,
    };
  return {
    decision: 'allow',
    rule: 'mcp-default-allow',
    why: 'tools that do not send are allowed by default',
  };
}
