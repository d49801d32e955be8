import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A CA made for one test run: its certificate and key files. */
export interface TestCa {
  name: string;
  certFile: string;
  keyFile: string;
}

/** A server certificate signed by a TestCa, with what identifies it. */
export interface TestCert {
  certFile: string;
  keyFile: string;
  /** Hex, upper case, as X509Certificate.serialNumber and getPeerCertificate() give it. */
  serial: string;
  fingerprint256: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('openssl not found: install it (apt-get install -y openssl); the TLS tests make their certificates with it');
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** A self-signed CA (EC P-256: quick to make), in `dir`, under `name`. */
export async function makeCa(dir: string, name: string): Promise<TestCa> {
  const certFile = join(dir, `${name}-ca.pem`);
  const keyFile = join(dir, `${name}-ca.key`);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], dir);
  await openssl(
    ['req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', '2', '-subj', `/CN=Cairn test CA ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', certFile],
    dir,
  );
  return { name, certFile, keyFile };
}

/**
 * A server certificate for 127.0.0.1, ::1 and localhost (subjectAltName, as
 * clients check), signed by `ca`, in `dir` under `name`, with a serial of
 * its own so that tests can tell two apart.
 */
export async function makeServerCert(dir: string, ca: TestCa, name: string, opts: { hosts?: string[] } = {}): Promise<TestCert> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const hosts = opts.hosts ?? ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'];
  await writeFile(ext, `subjectAltName=${hosts.join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile], dir);
  await openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${name}`, '-out', csr], dir);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${randomSerial()}`, '-days', '2', '-sha256', '-extfile', ext, '-out', certFile], dir);
  const x509 = new X509Certificate(await readFile(certFile));
  return { certFile, keyFile, serial: x509.serialNumber, fingerprint256: x509.fingerprint256 };
}

function randomSerial(): string {
  // Positive (top bit clear) and 16 hex digits, so it prints back as written.
  return (Math.floor(Math.random() * 0x7fffffff) + 0x10000000).toString(16) + Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0');
}
