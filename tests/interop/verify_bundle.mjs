// Independent check of a crafter bundle with npm @sigstore/verify, offline.
//
//   node tests/interop/verify_bundle.mjs BUNDLE.json PUBLIC_KEY.pem [TSA_CHAIN.json]
//
// Prints "VERIFIED" and exits 0 when the DSSE signature in the Sigstore bundle verifies with the public key;
// otherwise prints the error and exits 1 (2 for bad usage). Key-based bundles carry no transparency-log entry
// and no timestamp, so all three thresholds are 0 (the defaults demand one tlog entry and one timestamp).
// The key is registered under sha256(DER SubjectPublicKeyInfo): a bundle whose publicKey.hint names another
// key is rejected with "key not found", so the hint is checked too. TSA_CHAIN.json (a JSON list of base64 DER
// certificates, the TSA's first, its root last) makes that TSA trusted and one verified timestamp required.
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';

// No certificate authorities, logs or timestamp authorities: only the key below is trusted.
const EMPTY_TRUSTED_ROOT = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  certificateAuthorities: [],
  timestampAuthorities: [],
  tlogs: [],
  ctlogs: [],
};

function main(argv) {
  if (argv.length !== 2 && argv.length !== 3) {
    console.error('usage: node verify_bundle.mjs BUNDLE.json PUBLIC_KEY.pem [TSA_CHAIN.json]');
    return 2;
  }
  const [bundlePath, keyPath, tsaPath] = argv;
  try {
    const bundle = bundleFromJSON(JSON.parse(readFileSync(bundlePath, 'utf8')));
    const der = createPublicKey(readFileSync(keyPath, 'utf8')).export({ type: 'spki', format: 'der' });
    const hint = createHash('sha256').update(der).digest('hex');
    const keys = { [hint]: { rawBytes: der, validFor: { start: new Date(0) } } };
    const root = tsaPath ? { ...EMPTY_TRUSTED_ROOT, timestampAuthorities: [tsa(tsaPath)] } : EMPTY_TRUSTED_ROOT;
    const verifier = new Verifier(toTrustMaterial(root, keys), {
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: tsaPath ? 1 : 0,
    });
    verifier.verify(toSignedEntity(bundle));
    console.log('VERIFIED');
    return 0;
  } catch (err) {
    const code = err && err.code ? `${err.code}: ` : '';
    console.log(`FAILED ${err && err.name ? err.name : 'Error'} ${code}${err && err.message ? err.message : err}`);
    return 1;
  }
}

function tsa(path) {
  const certificates = JSON.parse(readFileSync(path, 'utf8')).map((c) => ({ rawBytes: Buffer.from(c, 'base64') }));
  return { subject: { organization: '', commonName: '' }, certChain: { certificates }, validFor: { start: new Date(0) } };
}

process.exitCode = main(process.argv.slice(2));
