/**
 * The user's SMTP relay: where released mail goes. Configured in `<state>/smtp.yaml` (mode 0600, it may hold a
 * password), read at each delivery so a fix takes effect without a daemon restart:
 *
 * ```yaml
 * host: smtp.example.com   # required
 * port: 587                # default 587
 * secure: false            # true = TLS from the first byte (port 465); false = STARTTLS when offered
 * require_tls: true        # refuse to send if STARTTLS is not offered (default false)
 * auth: { user: me@example.com, pass: app-password }   # optional
 * from: me@example.com     # optional: replaces the agent's envelope sender and From header
 * ```
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { WardenError } from '../util/errors.js';

export const relaySchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(587),
    secure: z.boolean().default(false),
    require_tls: z.boolean().default(false),
    auth: z.object({ user: z.string(), pass: z.string() }).strict().optional(),
    from: z.string().min(3).optional(),
  })
  .strict();
export type RelayConfig = z.infer<typeof relaySchema>;

/** Path of the relay settings in state dir `dir`. */
export function relayPath(dir: string): string {
  return join(dir, 'smtp.yaml');
}

/**
 * Reads the relay settings.
 * @throws WardenError('smtp-relay-missing' | 'smtp-relay-invalid' | 'smtp-relay-mode') naming the file and
 * what to write in it.
 */
export function loadRelay(dir: string): RelayConfig {
  const file = relayPath(dir);
  if (!existsSync(file))
    throw new WardenError(
      'smtp-relay-missing',
      `no SMTP relay is configured: write ${file} (mode 0600) with at least \`host:\` and \`port:\` of your mail server`,
    );
  if ((statSync(file).mode & 0o077) !== 0)
    throw new WardenError(
      'smtp-relay-mode',
      `${file} may hold a password: make it private (chmod 600 ${file})`,
    );
  const r = relaySchema.safeParse(parseYaml(readFileSync(file, 'utf8')));
  if (!r.success)
    throw new WardenError(
      'smtp-relay-invalid',
      `${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}
