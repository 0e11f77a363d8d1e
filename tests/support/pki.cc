#include "tests/support/pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace smppgw::nettest {

namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

struct Issued {
  KeyPtr key{nullptr, &EVP_PKEY_free};
  CertPtr cert{nullptr, &X509_free};
};

bool addExt(X509* x, X509V3_CTX* v3, int nid, const std::string& value) {
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, v3, nid, value.c_str());
  if (e == nullptr) {
    return false;
  }
  bool ok = X509_add_ext(x, e, -1) == 1;
  X509_EXTENSION_free(e);
  return ok;
}

// issuer null: self-signed. Validity in seconds relative to now.
Issued issue(const std::string& cn, const Issued* issuer, bool ca, const std::string& san,
             long from_s, long to_s) {
  static long serial = 1;
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), from_s);
  X509_gmtime_adj(X509_getm_notAfter(x), to_s);
  X509_set_pubkey(x, out.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer->cert.get()) : name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer != nullptr ? issuer->cert.get() : x, x, nullptr, nullptr, 0);
  addExt(x, &v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  addExt(x, &v3, NID_subject_key_identifier, "hash");
  if (ca) {
    addExt(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExt(x, &v3, NID_authority_key_identifier, "keyid");
    addExt(x, &v3, NID_key_usage, "critical,digitalSignature");
  }
  if (!san.empty()) {
    addExt(x, &v3, NID_subject_alt_name, san);
  }
  X509_sign(x, issuer != nullptr ? issuer->key.get() : out.key.get(), EVP_sha256());
  return out;
}

bool writeCert(const std::string& path, X509* x) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return false;
  }
  bool ok = PEM_write_X509(f, x) == 1;
  return std::fclose(f) == 0 && ok;
}

bool writeKey(const std::string& path, EVP_PKEY* k) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    return false;
  }
  bool ok = PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  return std::fclose(f) == 0 && ok;
}

struct Holder {
  Pki p;
  ~Holder() {
    if (!p.dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(p.dir, ec);
    }
  }
};

void generate(Pki& p) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr ? tmp : "/tmp") + "/smppgw-pki-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    p.error = "mkdtemp failed";
    return;
  }
  p.dir = templ;
  constexpr long kDay = 86400;
  Issued ca = issue("smppgw test CA", nullptr, true, "", -kDay, 30 * kDay);
  Issued other = issue("untrusted CA", nullptr, true, "", -kDay, 30 * kDay);
  const std::string server_san = "DNS:localhost,IP:127.0.0.1";
  Issued server = issue("localhost", &ca, false, server_san, -kDay, 30 * kDay);
  Issued client = issue("customer-1", &ca, false,
                        "DNS:customer-1.example,email:ops@customer-1.example", -kDay, 30 * kDay);
  Issued expired = issue("localhost", &ca, false, server_san, -2 * kDay, -kDay);
  Issued foreign = issue("localhost", &other, false, server_san, -kDay, 30 * kDay);
  auto path = [&](const char* n) { return p.dir + "/" + n; };
  p.ca = path("ca.pem");
  p.other_ca = path("other-ca.pem");
  p.server_cert = path("server.pem");
  p.server_key = path("server.key");
  p.client_cert = path("client.pem");
  p.client_key = path("client.key");
  p.expired_cert = path("expired.pem");
  p.expired_key = path("expired.key");
  p.foreign_cert = path("foreign.pem");
  p.foreign_key = path("foreign.key");
  bool ok =
      writeCert(p.ca, ca.cert.get()) && writeCert(p.other_ca, other.cert.get()) &&
      writeCert(p.server_cert, server.cert.get()) && writeKey(p.server_key, server.key.get()) &&
      writeCert(p.client_cert, client.cert.get()) && writeKey(p.client_key, client.key.get()) &&
      writeCert(p.expired_cert, expired.cert.get()) && writeKey(p.expired_key, expired.key.get()) &&
      writeCert(p.foreign_cert, foreign.cert.get()) && writeKey(p.foreign_key, foreign.key.get());
  if (!ok) {
    p.error = "could not write the test PKI to " + p.dir;
  }
}

}  // namespace

const Pki& pki() {
  static Holder h;
  if (h.p.dir.empty() && h.p.error.empty()) {
    generate(h.p);
  }
  return h.p;
}

}  // namespace smppgw::nettest
