import nodemailer from 'nodemailer';

/** The server's SMTP settings (`cairn serve --smtp-*`); null sends no mail. */
export interface SmtpSettings {
  host: string;
  port: number;
  /** Signs in when set, with the password from CAIRN_SMTP_PASSWORD. */
  user: string | null;
  password: string | null;
  from: string;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  tls: boolean;
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/** Sends through the configured SMTP server with nodemailer; a refusal or a network error rejects, for the delivery to be retried. */
export function smtpMailer(s: SmtpSettings): Mailer {
  const transport = nodemailer.createTransport({
    host: s.host,
    port: s.port,
    secure: s.tls,
    auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(mail) {
      await transport.sendMail({ from: s.from, to: mail.to, subject: mail.subject, text: mail.text });
    },
  };
}
