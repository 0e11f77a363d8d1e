#include "config/password.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "config/model.h"

namespace smppgw::config {
namespace {

struct KdfDeleter {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
using KdfPtr = std::unique_ptr<EVP_KDF, KdfDeleter>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter>;

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const std::uint8_t* data, std::size_t len) {
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < len; i += 3) {
    std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16 |
                      static_cast<std::uint32_t>(data[i + 1]) << 8 | data[i + 2];
    out += kB64[v >> 18 & 63];
    out += kB64[v >> 12 & 63];
    out += kB64[v >> 6 & 63];
    out += kB64[v & 63];
  }
  if (len - i == 1) {
    std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
    out += kB64[v >> 18 & 63];
    out += kB64[v >> 12 & 63];
  } else if (len - i == 2) {
    std::uint32_t v =
        static_cast<std::uint32_t>(data[i]) << 16 | static_cast<std::uint32_t>(data[i + 1]) << 8;
    out += kB64[v >> 18 & 63];
    out += kB64[v >> 12 & 63];
    out += kB64[v >> 6 & 63];
  }
  return out;
}

// Unpadded standard base64 (trailing '=' tolerated).
std::optional<std::vector<std::uint8_t>> unbase64(std::string_view s) {
  while (!s.empty() && s.back() == '=') {
    s.remove_suffix(1);
  }
  if (s.size() % 4 == 1) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    auto pos = kB64.find(c);
    if (pos == std::string_view::npos) {
      return std::nullopt;
    }
    acc = acc << 6 | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits & 0xFF));
    }
  }
  return out;
}

bool derive(std::string_view plain, const std::uint8_t* salt, std::size_t saltLen,
            std::uint32_t iterations, std::uint8_t* out, std::size_t outLen) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_PBKDF2, nullptr));
  if (!kdf) {
    return false;
  }
  KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) {
    return false;
  }
  // The OSSL_PARAM API takes non-const pointers; the buffers are only read.
  std::string pass(plain);
  std::vector<std::uint8_t> saltCopy(salt, salt + saltLen);
  char digest[] = "SHA256";
  unsigned iter = iterations;
  int pkcs5 = 0;  // allow short salts/keys checks to stay at the SP 800-132 defaults
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pass.data(), pass.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, saltCopy.data(), saltCopy.size()),
      OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &pkcs5),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = EVP_KDF_derive(ctx.get(), out, outLen, params) == 1;
  OPENSSL_cleanse(pass.data(), pass.size());
  return ok;
}

struct ParsedHash {
  std::uint32_t iterations = 0;
  std::vector<std::uint8_t> salt;
  std::vector<std::uint8_t> hash;
};

std::optional<ParsedHash> parseHash(std::string_view stored, std::string* reason) {
  auto fail = [&](const char* why) -> std::optional<ParsedHash> {
    if (reason != nullptr) {
      *reason = why;
    }
    return std::nullopt;
  };
  std::array<std::string_view, 4> parts;
  std::size_t n = 0;
  std::size_t start = 0;
  while (n < 4) {
    auto pos = stored.find('$', start);
    parts[n++] = stored.substr(start, pos == std::string_view::npos ? pos : pos - start);
    if (pos == std::string_view::npos) {
      break;
    }
    start = pos + 1;
    if (n == 4) {
      return fail("too many '$'-separated fields");
    }
  }
  if (parts[0] != kPasswordHashScheme) {
    return fail("not a pbkdf2-sha256 hash");
  }
  if (n != 4) {
    return fail("expected pbkdf2-sha256$<iterations>$<salt>$<hash>");
  }
  ParsedHash p;
  if (parts[1].empty() || parts[1].size() > 9) {
    return fail("bad iteration count");
  }
  for (char c : parts[1]) {
    if (c < '0' || c > '9') {
      return fail("bad iteration count");
    }
    p.iterations = p.iterations * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (p.iterations < kMinPasswordIterations || p.iterations > kMaxPasswordIterations) {
    return fail("iteration count out of range (1000..10000000)");
  }
  auto salt = unbase64(parts[2]);
  auto hash = unbase64(parts[3]);
  if (!salt || salt->size() < 8 || salt->size() > 64) {
    return fail("bad salt (base64, 8..64 bytes)");
  }
  if (!hash || hash->size() != kHashBytes) {
    return fail("bad hash (base64 of 32 bytes)");
  }
  p.salt = std::move(*salt);
  p.hash = std::move(*hash);
  return p;
}

}  // namespace

std::string hashPassword(std::string_view plain, std::uint32_t iterations) {
  if (iterations < kMinPasswordIterations || iterations > kMaxPasswordIterations) {
    return {};
  }
  std::array<std::uint8_t, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return {};
  }
  std::array<std::uint8_t, kHashBytes> hash{};
  if (!derive(plain, salt.data(), salt.size(), iterations, hash.data(), hash.size())) {
    return {};
  }
  return std::string(kPasswordHashScheme) + "$" + std::to_string(iterations) + "$" +
         base64(salt.data(), salt.size()) + "$" + base64(hash.data(), hash.size());
}

bool isPasswordHash(std::string_view stored, std::string* reason) {
  return parseHash(stored, reason).has_value();
}

bool verifyPassword(std::string_view stored, std::string_view plain) {
  auto parsed = parseHash(stored, nullptr);
  if (!parsed) {
    return false;
  }
  std::array<std::uint8_t, kHashBytes> hash{};
  if (!derive(plain, parsed->salt.data(), parsed->salt.size(), parsed->iterations, hash.data(),
              hash.size())) {
    return false;
  }
  return CRYPTO_memcmp(hash.data(), parsed->hash.data(), kHashBytes) == 0;
}

bool verifyCustomerPassword(const Customer& customer, std::string_view plain) {
  if (!customer.password_plain) {
    return verifyPassword(customer.password, plain);
  }
  // Compare digests so the comparison time does not depend on where the strings differ.
  std::array<std::uint8_t, 32> a{};
  std::array<std::uint8_t, 32> b{};
  unsigned la = 0;
  unsigned lb = 0;
  if (EVP_Digest(customer.password.data(), customer.password.size(), a.data(), &la, EVP_sha256(),
                 nullptr) != 1 ||
      EVP_Digest(plain.data(), plain.size(), b.data(), &lb, EVP_sha256(), nullptr) != 1) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sha256Hex(std::string_view data) {
  std::array<std::uint8_t, 32> md{};
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace smppgw::config
