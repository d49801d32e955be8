import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';

/** PEM files: the certificate (its chain after it) and its private key. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate and its key as read from their files, checked to belong together. */
export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  /** What the logs say about it: which certificate is being served. */
  summary: { subject: string; serial: string; fingerprint256: string; valid_to: string };
}

function readPem(file: string, what: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`Cannot read the TLS ${what} ${file} (${flag}): ${(err as Error).message}.`);
  }
}

/**
 * Reads the files and checks them now, at start or at a reload, so that a bad
 * pair is refused with its reason instead of failing every handshake after.
 */
export function readTlsFiles(files: TlsFiles): TlsCredentials {
  const cert = readPem(files.certFile, 'certificate', '--tls-cert / CAIRN_TLS_CERT');
  const key = readPem(files.keyFile, 'key', '--tls-key / CAIRN_TLS_KEY');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`The TLS certificate ${files.certFile} is not a PEM certificate: ${(err as Error).message}.`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const why = /mismatch/i.test((err as Error).message) ? 'the key does not belong to the certificate' : (err as Error).message;
    throw new Error(`The TLS certificate ${files.certFile} and key ${files.keyFile} cannot be used together: ${why}.`);
  }
  return { cert, key, summary: { subject: leaf.subject.replace(/\n/g, ', '), serial: leaf.serialNumber, fingerprint256: leaf.fingerprint256, valid_to: leaf.validTo } };
}

/**
 * Serves new connections with the files' current contents; connections already
 * open (chunk streams included) keep the certificate they were made with.
 */
export function reloadTls(server: HttpsServer, files: TlsFiles): TlsCredentials {
  const credentials = readTlsFiles(files);
  server.setSecureContext({ cert: credentials.cert, key: credentials.key });
  return credentials;
}
