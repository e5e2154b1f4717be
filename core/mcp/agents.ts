/** The agents whose MCP configuration `warden mcp install` can rewrite (a leaf module: the CLI needs it). */
export const AGENTS = ['claude-code', 'codex', 'gemini'] as const;
export type Agent = (typeof AGENTS)[number];
