#pragma once
// Customer password hashing: PBKDF2-HMAC-SHA256 (OpenSSL EVP_KDF), 16-byte random salt, stored as
// the self-describing string
//   pbkdf2-sha256$<iterations>$<salt, base64 unpadded>$<hash, base64 unpadded>
//
// Cost: verification runs the full key derivation on purpose. With the default 200,000
// iterations that is roughly 40-80 ms of CPU on this class of machine, so the gateway must run
// verifyPassword() off the event loop (and may cache successful binds). The iteration count is
// stored per hash: `smppgw hash-password --iterations N` trades cost against brute-force cost.

#include <cstdint>
#include <string>
#include <string_view>

namespace smppgw::config {

struct Customer;

inline constexpr std::uint32_t kDefaultPasswordIterations = 200000;
inline constexpr std::uint32_t kMinPasswordIterations = 1000;
inline constexpr std::uint32_t kMaxPasswordIterations = 10000000;
inline constexpr std::string_view kPasswordHashScheme = "pbkdf2-sha256";

// Returns the stored form, or an empty string if OpenSSL failed (no RNG, no KDF).
std::string hashPassword(std::string_view plain,
                         std::uint32_t iterations = kDefaultPasswordIterations);
// Constant-time comparison of the derived key; false for malformed stored strings.
bool verifyPassword(std::string_view stored, std::string_view plain);
// True when `stored` parses as a hash this build can verify; `reason` says why not.
bool isPasswordHash(std::string_view stored, std::string* reason = nullptr);
// Customer credential check: the hash, or (only when the loader allowed it) constant-time plain.
bool verifyCustomerPassword(const Customer& customer, std::string_view plain);

}  // namespace smppgw::config

namespace smppgw::config {
// Lower-case hex SHA-256 (the config content hash). Empty on OpenSSL failure.
std::string sha256Hex(std::string_view data);
}  // namespace smppgw::config
