/**
 * An empty CRL of an issuer that signs nothing (its key was discarded when it was made). It
 * matches no CA; giving the TLS layer any CRL turns OpenSSL's CRL checking on, see below.
 */
const CRL_CHECKING_SWITCH = `-----BEGIN X509 CRL-----
MIHHMHAwCgYIKoZIzj0EAwIwQjFAMD4GA1UEAww3aHBhLW1ldHJpY3MtYWRhcHRl
ciBDUkwgY2hlY2tpbmcgc3dpdGNoLCBpc3N1ZXMgbm90aGluZxcNMjYxMTI4MDkw
ODI4WhgPMjEyNjExMDQwOTA4MjhaMAoGCCqGSM49BAMCA0cAMEQCIEniJ4tf/7pn
KkYFFP5DHSu+3E60A95iHnrHzyzy7J2kAiAjjLra6m5fGN6rBKtRBjo1B6JLI5//
Lhruga3YSP0/eg==
-----END X509 CRL-----
`;

export interface ClientCertificateRequest {
  requestCert: boolean;
  rejectUnauthorized: false;
  ca?: string[];
  crl?: string;
}

/**
 * TLS server options that ask each client for a certificate, naming the CAs of `clientCaPem`
 * (the request-header CA and the client CA, as kube-apiserver names them), and never reject one:
 * the authenticator verifies the chain itself (auth/x509.ts), against each CA separately, so that
 * a client certificate cannot pass as a front-proxy one.
 *
 * The TLS layer's own check of the chain is made to fail, always, by turning on CRL checking for
 * CAs that have no CRL (UNABLE_TO_GET_CRL; `socket.authorized` stays false, and nothing reads it).
 * When that check succeeds, Node 24 (24.21 at least) drops the intermediates the client sent from
 * the socket before any request is read (nodejs/node#65579, fixed upstream by #65602), so a
 * certificate issued through an intermediate could not be verified and was refused (401).
 */
export function clientCertificateRequest(clientCaPem: readonly string[]): ClientCertificateRequest {
  if (clientCaPem.length === 0) return { requestCert: false, rejectUnauthorized: false };
  return { requestCert: true, rejectUnauthorized: false, ca: [...clientCaPem], crl: CRL_CHECKING_SWITCH };
}
