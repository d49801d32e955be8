import tls from 'node:tls';
import { active, inactive, type Verdict } from './verdict.js';

type Handle = { addCACert?: (cert: string) => void };
const handleOf = (context: tls.SecureContext): Handle | undefined => (context as { context?: Handle }).context;

/**
 * A TLS context trusting Node's CAs and `pem`, made once per process by its caller.
 * Adding the one CA on Node's internal handle takes 1 ms where the public `ca:` list took 120–150 ms (docs/performance.md).
 */
export function contextTrusting(pem: string): tls.SecureContext {
  const context = tls.createSecureContext();
  const handle = handleOf(context);
  if (typeof handle?.addCACert === 'function') {
    handle.addCACert(pem);
    return context;
  }
  const list = (tls as { getCACertificates?: (which: string) => string[] }).getCACertificates;
  return tls.createSecureContext({ ca: [...(list ? list('default') : tls.rootCertificates), pem] });
}

/** Whether contextTrusting adds the CA to a default context (else it builds one from the whole list). */
export function caContextVerdict(): Verdict {
  return typeof handleOf(tls.createSecureContext())?.addCACert === 'function'
    ? active('a --ca certificate is added to a default TLS context (SecureContext.addCACert)')
    : inactive("this Node's TLS context has no addCACert: a --ca certificate is trusted with Node's whole CA list, parsed once");
}
