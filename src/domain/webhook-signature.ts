import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a webhook's signature travels in (docs/tasks.md). */
export const SIGNATURE_HEADER = 'x-cairn-signature';

/** `sha256=` and the hex HMAC-SHA256 of the exact body bytes under the policy's secret, as GitHub's webhooks sign. */
export function signWebhook(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` signs `body` under `secret`; compared in constant time, for receivers written in Node. */
export function verifyWebhook(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const want = Buffer.from(signWebhook(secret, body));
  const got = Buffer.from(header);
  return got.length === want.length && timingSafeEqual(got, want);
}
